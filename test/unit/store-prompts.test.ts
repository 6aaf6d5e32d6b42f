import { expect } from 'chai';
import { QUEUE_STATUSES } from '../../service/store/enums.js';
import type { Prompt } from '../../service/store/queue-schema.js';
import { QueueRepo, type NewQueue } from '../../service/store/queues.js';
import type { Store } from '../../service/store/store.js';
import { withStore } from '../helpers/store.js';

/** A queue with one prompt per text, and the repo it lives in. */
function queueOf(store: Store, now: () => number, texts: string[], q: Partial<NewQueue> = {}) {
  const repo = new QueueRepo(store, now);
  const queue = repo.createQueue({ name: 'q', cwd: '/w', ...q });
  const prompts = texts.map((text) => {
    const p = repo.addPrompt(queue.id, { text });
    if (!p) throw new Error('no prompt');
    return p;
  });
  return { repo, queue, prompts };
}

/** Starts it as the engine would: the attempt, then running with its turn. */
function run(repo: QueueRepo, id: string): void {
  const attempt = repo.recordAttempt(id)?.attempts;
  repo.markPromptRunning(id, `turn-${id}-${attempt}`);
}

/** Texts in position order, and whether the positions are distinct. */
function order(repo: QueueRepo, queueId: string): string[] {
  const prompts = repo.getQueue(queueId)?.prompts ?? [];
  expect(new Set(prompts.map((p) => p.position)).size).to.equal(prompts.length);
  return prompts.map((p) => p.text);
}

describe('store: editing a queue', () => {
  it('updatePrompt changes text, images and mode of a prompt that has not run, nothing else', () =>
    withStore((store, now) => {
      const { repo, queue, prompts } = queueOf(store, now, ['a', 'b']);
      const [a, b] = prompts as [Prompt, Prompt];
      const edited = repo.updatePrompt(a.id, { text: 'A', images: ['https://x/1.png'] });
      expect(edited).to.include({ text: 'A', mode: 'auto', status: 'pending', position: 1 });
      expect(edited?.images).to.deep.equal(['https://x/1.png']);
      expect(repo.updatePrompt(a.id, { mode: 'manual' })).to.include({ text: 'A', mode: 'manual' });
      expect(repo.getQueue(queue.id)?.updatedAt).to.be.greaterThan(queue.updatedAt);

      run(repo, b.id);
      const runningB = repo.getPrompt(b.id);
      expect(repo.updatePrompt(b.id, { text: 'changed' })).to.equal(undefined);
      repo.completePrompt(b.id, { message: 'done' });
      const doneB = repo.getPrompt(b.id);
      expect(repo.updatePrompt(b.id, { text: 'changed' })).to.equal(undefined);
      expect(repo.getPrompt(b.id)).to.deep.equal(doneB);
      expect(runningB?.text).to.equal('b');
      expect(repo.updatePrompt('missing', { text: 'x' })).to.equal(undefined);
    }));

  it('setPromptMode switches a pending or waiting prompt; a waiting one switched to auto is pending again', () =>
    withStore((store, now) => {
      const { repo, prompts } = queueOf(store, now, ['a', 'b']);
      const [a, b] = prompts as [Prompt, Prompt];
      expect(repo.setPromptMode(a.id, 'manual')).to.include({ mode: 'manual', status: 'pending' });
      expect(repo.markWaiting(a.id)?.status).to.equal('waiting');
      expect(repo.setPromptMode(a.id, 'manual')?.status).to.equal('waiting');
      expect(repo.setPromptMode(a.id, 'auto')).to.include({ mode: 'auto', status: 'pending' });

      run(repo, b.id);
      const before = repo.getPrompt(b.id);
      expect(repo.setPromptMode(b.id, 'manual')).to.equal(undefined);
      expect(repo.getPrompt(b.id)).to.deep.equal(before);
    }));

  it('markWaiting only from pending; giveGoAhead stamps a pending or waiting prompt', () =>
    withStore((store, now) => {
      const { repo, prompts } = queueOf(store, now, ['a', 'b']);
      const [a, b] = prompts as [Prompt, Prompt];
      const waiting = repo.markWaiting(a.id);
      expect(waiting).to.include({ status: 'waiting', goAheadAt: null });
      expect(repo.markWaiting(a.id)).to.equal(undefined);
      const go = repo.giveGoAhead(a.id);
      expect(go?.goAheadAt)
        .to.be.a('number')
        .greaterThan(waiting?.updatedAt ?? Infinity);
      expect(go?.status).to.equal('waiting'); // the engine starts it; the store only records the go-ahead

      run(repo, b.id);
      const before = repo.getPrompt(b.id);
      expect(repo.markWaiting(b.id)).to.equal(undefined);
      expect(repo.giveGoAhead(b.id)).to.equal(undefined);
      expect(repo.getPrompt(b.id)).to.deep.equal(before);
      expect(repo.giveGoAhead('missing')).to.equal(undefined);
    }));

  it('cancelPrompt ends a prompt that has not run; a running one is refused', () =>
    withStore((store, now) => {
      const { repo, prompts } = queueOf(store, now, ['a', 'b', 'c']);
      const [a, b, c] = prompts as [Prompt, Prompt, Prompt];
      expect(repo.cancelPrompt(a.id)).to.include({ status: 'cancelled', turnId: null });
      expect(repo.getPrompt(a.id)?.finishedAt).to.be.a('number');
      repo.markWaiting(b.id);
      expect(repo.cancelPrompt(b.id)?.status).to.equal('cancelled');
      expect(repo.cancelPrompt(b.id)).to.equal(undefined);
      run(repo, c.id);
      expect(repo.cancelPrompt(c.id)).to.equal(undefined);
      expect(repo.getPrompt(c.id)?.status).to.equal('running');
    }));

  it('deletePrompt removes a prompt that has not run; the others keep their places', () =>
    withStore((store, now) => {
      const { repo, queue, prompts } = queueOf(store, now, ['a', 'b', 'c']);
      const [a, b, c] = prompts as [Prompt, Prompt, Prompt];
      run(repo, a.id);
      expect(repo.deletePrompt(b.id)).to.equal(true);
      expect(repo.deletePrompt(b.id)).to.equal(false);
      expect(repo.deletePrompt(a.id)).to.equal(false); // running
      repo.markWaiting(c.id);
      const left = repo.getQueue(queue.id)?.prompts.map((p) => [p.text, p.position]);
      expect(left).to.deep.equal([
        ['a', 1],
        ['c', 3],
      ]);
      expect(repo.deletePrompt(c.id)).to.equal(true); // waiting is still editable
      expect(repo.addPrompt(queue.id, { text: 'd' })?.position).to.equal(2);
    }));
});

describe('store: moving a prompt', () => {
  /** a and d ran (d out of order on purpose: a done prompt in the middle); b c e f have not. */
  function mixed(store: Store, now: () => number) {
    const made = queueOf(store, now, ['a', 'b', 'c', 'd', 'e', 'f']);
    const { repo, prompts } = made;
    const [a, , , d] = prompts as [Prompt, Prompt, Prompt, Prompt];
    run(repo, a.id);
    repo.completePrompt(a.id, { message: 'a' });
    run(repo, d.id);
    repo.failPrompt(d.id, 'boom');
    const done = [repo.getPrompt(a.id), repo.getPrompt(d.id)];
    const byText = (t: string) => prompts.find((p) => p.text === t)?.id ?? 'none';
    return { ...made, done, byText };
  }

  const cases: [string, string, number, string[]][] = [
    ['the last to first', 'f', 1, ['a', 'f', 'b', 'd', 'c', 'e']],
    ['the first to last', 'b', 4, ['a', 'c', 'e', 'd', 'f', 'b']],
    ['to the middle', 'b', 3, ['a', 'c', 'e', 'd', 'b', 'f']],
    ['past the end (clamped to last)', 'c', 99, ['a', 'b', 'e', 'd', 'f', 'c']],
    ['before the start (clamped to first)', 'e', -3, ['a', 'e', 'b', 'd', 'c', 'f']],
    ['to where it is', 'c', 2, ['a', 'b', 'c', 'd', 'e', 'f']],
  ];
  for (const [what, text, to, expected] of cases)
    it(`moves ${what}; done prompts keep their positions, positions stay unique`, () =>
      withStore((store, now) => {
        const { repo, queue, done, byText } = mixed(store, now);
        const moved = repo.movePrompt(byText(text), to);
        expect(moved?.prompts.map((p) => p.text)).to.deep.equal(expected);
        expect(order(repo, queue.id)).to.deep.equal(expected);
        expect([repo.getPrompt(byText('a')), repo.getPrompt(byText('d'))]).to.deep.equal(done);
        expect(moved?.prompts.map((p) => p.position)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      }));

  it('counts places among the prompts that have not run, waiting ones included', () =>
    withStore((store, now) => {
      const { repo, queue, byText } = mixed(store, now);
      repo.markWaiting(byText('e'));
      repo.movePrompt(byText('b'), 3); // b c e f → c e b f
      expect(order(repo, queue.id)).to.deep.equal(['a', 'c', 'e', 'd', 'b', 'f']);
    }));

  it('refuses a prompt that ran, or none, and changes nothing', () =>
    withStore((store, now) => {
      const { repo, queue, byText } = mixed(store, now);
      const before = repo.getQueue(queue.id);
      expect(repo.movePrompt(byText('a'), 3)).to.equal(undefined);
      expect(repo.movePrompt(byText('d'), 1)).to.equal(undefined);
      expect(repo.movePrompt('missing', 1)).to.equal(undefined);
      expect(repo.getQueue(queue.id)).to.deep.equal(before);
    }));
});

describe('store: what runs next', () => {
  it('nextPrompt: the first pending or waiting prompt, an interrupted one while it has retries', () =>
    withStore((store, now) => {
      const { repo, queue, prompts } = queueOf(store, now, ['a', 'b', 'c'], { maxRetries: 1 });
      const [a, b, c] = prompts as [Prompt, Prompt, Prompt];
      expect(repo.nextPrompt(queue.id)?.id).to.equal(a.id);
      run(repo, a.id);
      expect(repo.nextPrompt(queue.id)?.id).to.equal(b.id); // a is running
      repo.interruptPrompt(a.id, 'app-server died');
      expect(repo.nextPrompt(queue.id)?.id).to.equal(a.id); // attempt 1 <= 1 retry
      run(repo, a.id);
      repo.interruptPrompt(a.id);
      expect(repo.getPrompt(a.id)?.attempts).to.equal(2);
      expect(repo.nextPrompt(queue.id)?.id).to.equal(b.id); // retries used up
      repo.cancelPrompt(b.id);
      repo.markWaiting(c.id);
      expect(repo.nextPrompt(queue.id)?.id).to.equal(c.id);
      run(repo, c.id);
      repo.completePrompt(c.id, null);
      expect(repo.nextPrompt(queue.id)).to.equal(undefined);
      expect(repo.nextPrompt('missing')).to.equal(undefined);
    }));

  it('nextPrompt never retries an interrupted prompt with maxRetries 0', () =>
    withStore((store, now) => {
      const { repo, queue, prompts } = queueOf(store, now, ['a']);
      const [a] = prompts as [Prompt];
      run(repo, a.id);
      repo.interruptPrompt(a.id);
      expect(repo.nextPrompt(queue.id)).to.equal(undefined);
    }));

  it('queueCounts names every status, 0 included', () =>
    withStore((store, now) => {
      const repo = new QueueRepo(store, now);
      const zero = Object.fromEntries(QUEUE_STATUSES.map((s) => [s, 0]));
      expect(repo.queueCounts()).to.deep.equal({ ...zero, total: 0 });
      const q1 = repo.createQueue({ name: 'a', cwd: '/w' });
      repo.createQueue({ name: 'b', cwd: '/w' });
      const q3 = repo.createQueue({ name: 'c', cwd: '/w' });
      repo.setQueueStatus(q1.id, 'running');
      repo.setQueueStatus(q3.id, 'running');
      expect(repo.queueCounts()).to.deep.equal({ ...zero, idle: 1, running: 2, total: 3 });
    }));
});
