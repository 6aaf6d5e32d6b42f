/**
 * The child of the store crash test: opens the store in argv[2] and drives prompts through their
 * transitions as fast as it can, printing one line per committed transition, until it is killed.
 * Results carry their own length so a torn row would show.
 */
import fs from 'node:fs';
import { QueueRepo } from '../../service/store/queues.js';
import { Store } from '../../service/store/store.js';

const store = Store.open(process.argv[2] ?? '.');
const repo = new QueueRepo(store);
const queue = repo.listQueues()[0] ?? repo.createQueue({ name: 'crash', cwd: '/tmp' });
let n = 0;
// writeSync: the line leaves before the next transition starts, whatever stdout is.
const say = (what: string, id: string) => fs.writeSync(1, `${what} ${id} ${++n}\n`);

for (;;) {
  let next = repo.getQueue(queue.id)?.prompts.find((p) => p.status === 'pending');
  if (!next) {
    next = repo.addPrompt(queue.id, { text: `prompt ${n}`, images: ['a.png'] });
    if (!next) throw new Error('queue vanished');
    say('added', next.id);
  }
  repo.recordAttempt(next.id);
  repo.markPromptRunning(next.id, `turn-${next.id}`);
  say('running', next.id);
  const len = 1 + Math.floor(Math.random() * 20_000); // up to a few pages: a commit spans several writes
  const outcome = Math.random();
  if (outcome < 0.7) repo.completePrompt(next.id, { finalMessage: 'x'.repeat(len), len });
  else if (outcome < 0.85) repo.failPrompt(next.id, 'model error', { len: 0, finalMessage: '' });
  else repo.interruptPrompt(next.id, 'interrupted');
  say('finished', next.id);
}
