import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import {
  groupCreateBody,
  groupRunBody,
  promptInput,
  promptText,
  queueCreateBody,
} from '../../src/cli/queue-api.js';
import type { GroupJson } from '../../service/groups/group-json.js';
import type { QueueJson } from '../../service/queues/queue-json.js';
import { groupDetail, queueDetail, queueList } from '../../src/cli/queue-render.js';
import { resolvePrefix } from '../../src/cli/service-client.js';
import { rejection, thrown } from '../helpers/assertions.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

const QUEUE_KIND = {
  noun: 'queue',
  code: 'queue_not_found',
  listedBy: 'codex-sm queue list',
} as const;
const A1 = 'aaaa1111-0000-4000-8000-000000000001';
const A2 = 'aaaa2222-0000-4000-8000-000000000002';
const B1 = 'bbbb1111-0000-4000-8000-000000000003';

describe('queue and group CLI: naming a record by an id prefix (unit)', () => {
  it('a unique prefix, or the whole id in any case, names one record', () => {
    expect(resolvePrefix([A1, A2, B1], 'aaaa1', QUEUE_KIND)).to.equal(A1);
    expect(resolvePrefix([A1, A2, B1], 'B', QUEUE_KIND)).to.equal(B1);
    expect(resolvePrefix([A1, A2, B1], A2.toUpperCase(), QUEUE_KIND)).to.equal(A2);
  });

  it('an ambiguous, unknown or empty prefix is an error with the kind’s code, naming the candidates', () => {
    const ambiguous = thrown(() => resolvePrefix([A1, A2, B1], 'aaaa', QUEUE_KIND));
    expect(ambiguous.code).to.equal('queue_not_found');
    expect(ambiguous.message).to.contain(A1).and.to.contain(A2).and.not.to.contain(B1);
    expect(ambiguous.exitCode).to.not.equal(0);
    const unknown = thrown(() => resolvePrefix([A1], 'c', QUEUE_KIND));
    expect(unknown.code).to.equal('queue_not_found');
    expect(unknown.hint).to.contain('codex-sm queue list');
    // An empty prefix would start every id: with one record it must not silently pick it.
    expect(thrown(() => resolvePrefix([A1], ' ', QUEUE_KIND)).code).to.equal('queue_not_found');
  });
});

describe('queue and group CLI: arguments to request bodies (unit)', () => {
  it('queue create: --cwd made absolute against the shell’s directory, each PROMPT one prompt', () => {
    expect(
      queueCreateBody('nightly', ['one', 'two'], { cwd: '../proj', maxRetries: 2 }, '/home/me/x'),
    ).to.deep.equal({
      name: 'nightly',
      cwd: '/home/me/proj',
      maxRetries: 2,
      prompts: [{ text: 'one' }, { text: 'two' }],
    });
    expect(
      queueCreateBody('q', [], { session: 'sid', model: 'm', sandbox: 'read-only' }, '/'),
    ).to.deep.equal({ name: 'q', sessionId: 'sid', model: 'm', sandbox: 'read-only' });
  });

  it('queue create needs exactly one of --cwd and --session (a usage error, exit 64)', () => {
    for (const f of [{}, { cwd: '/a', session: 's' }]) {
      const e = thrown(() => queueCreateBody('q', [], f, '/'));
      expect(e.code).to.equal('usage');
      expect(e.exitCode).to.equal(64);
    }
  });

  it('images: paths made absolute, URLs kept; --manual sets the mode', () => {
    expect(
      promptInput(
        'look',
        { manual: true, image: ['shot.png', 'https://x/y.png', 'data:image/png;base64,AA'] },
        '/work',
      ),
    ).to.deep.equal({
      text: 'look',
      images: ['/work/shot.png', 'https://x/y.png', 'data:image/png;base64,AA'],
      mode: 'manual',
    });
    expect(promptInput('plain', {}, '/work')).to.deep.equal({ text: 'plain' });
  });

  it('group run and group create send only what was given', () => {
    expect(
      groupRunBody('bump', { maxConcurrent: 2, image: ['a.png'], approvalPolicy: 'never' }, '/w'),
    ).to.deep.equal({
      prompt: 'bump',
      images: ['/w/a.png'],
      maxConcurrent: 2,
      approvalPolicy: 'never',
    });
    expect(groupCreateBody('all', ['s1', 's2'])).to.deep.equal({
      name: 'all',
      sessionIds: ['s1', 's2'],
    });
    expect(groupCreateBody('none', [], 'what for')).to.deep.equal({
      name: 'none',
      description: 'what for',
    });
  });

  it('a prompt of `-` is read from stdin without its trailing newline; an empty one is refused', async () => {
    const stdin = (text: string) => () => Promise.resolve(text);
    expect(await promptText('-', stdin('line one\nline two\n\n'))).to.equal('line one\nline two');
    expect(await promptText('as given', stdin('unused'))).to.equal('as given');
    expect((await rejection(promptText('-', stdin('\n')))).code).to.equal('usage');
  });
});

const queue: QueueJson = {
  id: A1,
  name: 'nightly',
  cwd: '/home/me/proj',
  sessionId: null,
  status: 'running',
  model: null,
  sandbox: null,
  approvalPolicy: null,
  maxRetries: 0,
  createdAt: '2026-01-02T03:04:05.000Z',
  updatedAt: '2026-01-02T03:05:06.000Z',
  waitingFor: 'approval',
  approvals: [{ id: 'appr-1' }],
  counts: {
    pending: 1,
    waiting: 0,
    running: 1,
    completed: 1,
    failed: 1,
    interrupted: 0,
    cancelled: 0,
  },
  prompts: [
    {
      id: 'p1111111-0000-4000-8000-000000000001',
      position: 1,
      text: 'first\nthing',
      images: [],
      mode: 'auto',
      status: 'completed',
      turnId: 't1',
      attempts: 1,
      error: null,
      result: { message: 'all done', usage: null, durationMs: 1200 },
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-02T03:05:06.000Z',
      startedAt: '2026-01-02T03:04:06.000Z',
      finishedAt: '2026-01-02T03:05:06.000Z',
    },
    {
      id: 'p2222222-0000-4000-8000-000000000002',
      position: 2,
      text: 'second',
      images: ['/x.png'],
      mode: 'auto',
      status: 'failed',
      turnId: 't2',
      attempts: 1,
      error: 'model refused',
      result: null,
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-02T03:05:06.000Z',
      startedAt: '2026-01-02T03:04:06.000Z',
      finishedAt: '2026-01-02T03:05:06.000Z',
    },
  ],
};

describe('queue and group CLI: tables (unit)', () => {
  it('queue list shows the short id the commands take back, the state and the progress', () => {
    const lines = queueList([queue]).split('\n');
    expect(lines[0]).to.match(/^ID\s+NAME\s+STATUS\s+PROMPTS\s+UPDATED\s+WHERE$/);
    expect(lines[1]).to.match(
      /^aaaa1111\s+nightly\s+running, waiting for approval\s+1\/4 done, 1 failed\s+2026-01-02 03:05\s+\/home\/me\/proj$/,
    );
    expect(queueList([])).to.contain('no queues');
  });

  it('queue show: each prompt on one line with its outcome, and how to answer what it waits for', () => {
    const text = queueDetail(queue);
    expect(text).to.match(/^1\s+p1111111\s+completed\s+auto\s+1\s+first thing\s+all done$/m);
    expect(text).to.match(
      /^2\s+p2222222\s+failed .*second \[\+1 image\(s\)\]\s+error: model refused$/m,
    );
    expect(text).to.contain('codex-sm session approve appr-1');
  });

  it('group show: the sessions and the latest run’s progress', () => {
    const group: GroupJson = {
      id: 'cccc1111-0000-4000-8000-000000000001',
      name: 'all',
      description: null,
      paused: true,
      sessionIds: ['s1', 's2', 's3'],
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-02T03:04:05.000Z',
      run: {
        id: 'rrrr1111-0000',
        prompt: 'bump the lockfile',
        images: [],
        maxConcurrent: 2,
        model: null,
        sandbox: null,
        approvalPolicy: null,
        status: 'running',
        createdAt: '2026-01-02T03:04:05.000Z',
        finishedAt: null,
        sessions: [
          {
            sessionId: 's1',
            status: 'completed',
            turnId: 't',
            attempts: 1,
            result: { message: 'ok', usage: null, durationMs: 900 },
            error: null,
            startedAt: '2026-01-02T03:04:05.000Z',
            finishedAt: '2026-01-02T03:04:06.000Z',
          },
          {
            sessionId: 's2',
            status: 'running',
            turnId: 't',
            attempts: 1,
            result: null,
            error: null,
            startedAt: '2026-01-02T03:04:05.000Z',
            finishedAt: null,
          },
        ],
        progress: { running: ['s2'], completed: ['s1'], failed: [], pending: ['s3'] },
      },
    };
    const text = groupDetail(group);
    expect(text).to.match(/^state\s+run running, paused$/m);
    expect(text).to.contain(
      'run rrrr1111 running: 1 running, 1 completed, 0 failed, 1 pending (at most 2 at a time)',
    );
    expect(text).to.match(/^s1\s+completed\s+1\s+ok$/m);
    expect(groupDetail({ ...group, run: null, sessionIds: [] })).to.contain('no sessions');
  });
});

describe('queue and group CLI: commands and usage errors (unit)', () => {
  it('every queue and group verb of docs/queues.md is a command that talks to the service', async () => {
    const verbs = {
      queue: [
        'create',
        'add',
        'list',
        'show',
        'start',
        'pause',
        'resume',
        'stop',
        'edit',
        'remove',
        'move',
        'mode',
        'delete',
      ],
      group: ['create', 'list', 'show', 'add', 'remove', 'run', 'pause', 'resume', 'delete'],
    };
    for (const [name, expected] of Object.entries(verbs)) {
      const parent = (await buildProgram([name])).commands.find((c) => c.name() === name);
      const subs: readonly Command[] = parent?.commands ?? [];
      expect(subs.map((c) => c.name())).to.have.members(expected);
      for (const sub of subs) {
        const help = sub.helpInformation().replace(/\s+/g, ' ');
        expect(help, `${name} ${sub.name()}`).to.contain(
          '--host <addr> host of the service to talk to',
        );
        expect(help, `${name} ${sub.name()}`).to.contain('--json');
      }
    }
  });

  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], (err, _stdout, stderr) =>
        resolve({ code: err ? (err.code as number) : 0, stderr }),
      );
    });

  // Checked before any connection is made: the port named is closed, and nothing is sent.
  for (const [args, says] of [
    [['queue', 'move', 'q', 'p', '0'], "value '0' is invalid for argument 'position'"],
    [['queue', 'mode', 'q', 'p', 'sometimes'], 'Allowed choices are auto, manual'],
    [['queue', 'create', 'q', '--cwd', '.', '--max-retries', 'two'], 'not a whole number'],
    [['group', 'run', 'g', 'go', '--max-concurrent', '65'], 'from 1 to 64'],
    [['queue', 'add', 'q', 'two', 'words'], 'too many arguments'],
  ] as const)
    it(`\`${args.join(' ')}\` is a usage error: exit 64, saying why`, async () => {
      const r = await cli(...args, '--port', '1');
      expect(r.stderr).to.contain(says);
      expect(r.code).to.equal(64);
    });
});
