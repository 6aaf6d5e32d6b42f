/**
 * The dashboard's pure modules: the session timeline built from rollout lines and app-server
 * notifications (ui/src/timeline.ts), the search highlight's split (format.ts) and the
 * decisions an approval offers (decisions.ts).
 */
import { expect } from 'chai';
import { decisionsFor } from '../../ui/src/decisions.js';
import { splitMatches } from '../../ui/src/format.js';
import { changesOf, Timeline } from '../../ui/src/timeline.js';

const rolloutItem = (item: Record<string, unknown>) => ({
  timestamp: '2025-01-01T00:00:00Z',
  type: 'event_msg',
  payload: { type: 'item_completed', item },
});

describe('session timeline (pure)', () => {
  it('is one entry per item, whether the rollout or a notification told of it first', () => {
    const t = new Timeline();
    t.rollout(
      rolloutItem({ id: 'u1', type: 'UserMessage', content: [{ type: 'text', text: 'hi' }] }),
    );
    t.notification('item/started', { item: { id: 'a1', type: 'agentMessage', text: '' } });
    t.notification('item/agentMessage/delta', { itemId: 'a1', delta: 'Hel' });
    t.notification('item/agentMessage/delta', { itemId: 'a1', delta: 'lo' });
    expect(t.entries).to.deep.equal([
      { key: 'u1', kind: 'user', text: 'hi' },
      { key: 'a1', kind: 'agent', text: 'Hello', done: false },
    ]);
    // The rollout's tail names the same item: it completes that entry, it adds no second one.
    t.rollout(rolloutItem({ id: 'a1', type: 'AgentMessage', content: [{ text: 'Hello!' }] }));
    t.notification('item/completed', { item: { id: 'a1', type: 'agentMessage', text: 'Hello!' } });
    expect(t.entries).to.have.length(2);
    expect(t.entries[1]).to.deep.equal({ key: 'a1', kind: 'agent', text: 'Hello!', done: true });
  });

  it('a start seen after the completion (a replay) does not blank the item', () => {
    const t = new Timeline();
    t.notification('item/completed', {
      item: {
        id: 'c1',
        type: 'commandExecution',
        command: 'ls',
        aggregatedOutput: 'a\n',
        exitCode: 0,
      },
    });
    t.notification('item/started', { item: { id: 'c1', type: 'commandExecution', command: 'ls' } });
    expect(t.entries).to.have.length(1);
    expect(t.entries[0]).to.include({ kind: 'command', output: 'a\n', exitCode: 0, done: true });
  });

  it('ignores deltas after the item is done, and starts an entry from a delta alone', () => {
    const t = new Timeline();
    t.notification('item/commandExecution/outputDelta', { itemId: 'c2', delta: 'out ' });
    t.notification('item/completed', {
      item: {
        id: 'c2',
        type: 'commandExecution',
        command: ['echo', 'x'],
        aggregatedOutput: 'out x',
        exitCode: 0,
      },
    });
    t.notification('item/commandExecution/outputDelta', { itemId: 'c2', delta: 'late' });
    t.notification('item/reasoning/summaryTextDelta', { itemId: 'r1', delta: 'thinking' });
    t.notification('item/reasoning/summaryPartAdded', { itemId: 'r1' });
    t.notification('item/reasoning/summaryTextDelta', { itemId: 'r1', delta: 'more' });
    expect(t.entries).to.deep.equal([
      {
        key: 'c2',
        kind: 'command',
        command: 'echo x',
        cwd: '',
        output: 'out x',
        exitCode: 0,
        status: '',
        done: true,
      },
      { key: 'r1', kind: 'reasoning', text: 'thinking\n\nmore', done: false },
    ]);
  });

  it('follows the turn and the thread status, and notes an interrupted or failed turn', () => {
    const t = new Timeline();
    t.notification('turn/started', { turn: { id: 't1' } });
    expect(t.state).to.deep.equal({ status: 'active', flags: [], activeTurnId: 't1' });
    t.notification('thread/status/changed', {
      status: { type: 'active', activeFlags: ['waitingOnApproval'] },
    });
    expect(t.state.flags).to.deep.equal(['waitingOnApproval']);
    t.notification('turn/completed', {
      turn: { id: 't1', status: 'failed', error: { message: 'boom' } },
    });
    t.notification('error', { error: { message: 'retrying' }, willRetry: true });
    t.rollout({ type: 'event_msg', payload: { type: 'turn_aborted' } });
    expect(t.state.activeTurnId).to.equal(null);
    expect(t.entries.map((e) => (e.kind === 'notice' ? [e.tone, e.text] : e.kind))).to.deep.equal([
      ['error', 'turn failed: boom'],
      ['info', 'turn interrupted'],
    ]);
  });

  it('reads rollouts of older Codex versions (messages without item ids) and ignores the rest', () => {
    const t = new Timeline();
    t.rollout({ type: 'event_msg', payload: { type: 'user_message', message: 'q' } });
    t.rollout({ type: 'event_msg', payload: { type: 'agent_message', message: 'a' } });
    t.rollout({ type: 'response_item', payload: { type: 'message' } });
    t.rollout('not an object');
    t.notification('item/started', 'not an object');
    t.notification('item/agentMessage/delta', { delta: 'no item id' });
    expect(t.entries.map((e) => e.kind)).to.deep.equal(['user', 'agent']);
  });

  it('reads file changes in both shapes: the app-server list and the rollout map', () => {
    expect(changesOf([{ path: '/a', kind: { type: 'update' }, diff: '@@' }])).to.deep.equal([
      { path: '/a', kind: 'update', diff: '@@' },
    ]);
    expect(
      changesOf({
        '/b': { type: 'add', content: 'x\ny' },
        '/c': { type: 'update', unified_diff: '-y' },
      }),
    ).to.deep.equal([
      // An added file's content is shown as a diff: every line added.
      { path: '/b', kind: 'add', diff: '+x\n+y' },
      { path: '/c', kind: 'update', diff: '-y' },
    ]);
    expect(changesOf(undefined)).to.deep.equal([]);
  });
});

describe('search highlight split (pure)', () => {
  it('splits around every case-insensitive match, keeping the text as written', () => {
    expect(splitMatches('Foo bar FOO', 'foo')).to.deep.equal(['', 'Foo', ' bar ', 'FOO', '']);
    expect(splitMatches('abc', '')).to.deep.equal(['abc']);
    expect(splitMatches('abc', 'x')).to.deep.equal(['abc']);
    expect(splitMatches('Foo foo', 'foo', true)).to.deep.equal(['Foo ', 'foo', '']);
  });

  it('slices the right characters when lower-casing changes the length (İ → i̇)', () => {
    // 'İ'.toLowerCase() is two UTF-16 units: indexes into the lower-cased text drift by one.
    expect(splitMatches('İstanbul and Paris', 'paris')).to.deep.equal([
      'İstanbul and ',
      'Paris',
      '',
    ]);
    expect(splitMatches('İİ x', 'x')).to.deep.equal(['İİ ', 'x', '']);
    expect(splitMatches('go to İzmir', 'i̇zmir')).to.deep.equal(['go to ', 'İzmir', '']);
    expect(splitMatches('😀 Ab', 'ab')).to.deep.equal(['😀 ', 'Ab', '']);
    expect(splitMatches('aİb', 'i')).to.deep.equal(['a', 'İ', 'b']);
  });
});

describe('approval decisions (pure)', () => {
  it('offers what the request lists, and always a way to say no', () => {
    expect(
      decisionsFor({
        kind: 'commandExecution',
        params: { availableDecisions: ['accept', 'decline'] },
      }),
    ).to.deep.equal(['accept', 'decline']);
    expect(
      decisionsFor({ kind: 'commandExecution', params: { availableDecisions: ['accept'] } }),
    ).to.deep.equal(['accept', 'decline']);
    expect(
      decisionsFor({
        kind: 'commandExecution',
        params: { availableDecisions: ['cancel', 'acceptForSession', 'somethingNew'] },
      }),
    ).to.deep.equal(['acceptForSession', 'cancel']);
  });

  it('offers by kind when the request lists nothing', () => {
    expect(decisionsFor({ kind: 'fileChange', params: {} })).to.deep.equal([
      'accept',
      'acceptForSession',
      'decline',
      'cancel',
    ]);
    expect(decisionsFor({ kind: 'userInput', params: {} })).to.deep.equal([
      'accept',
      'decline',
      'cancel',
    ]);
  });
});
