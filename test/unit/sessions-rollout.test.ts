/** Pure parts of the sessions feature: rollout parsing, approvals mapping, cursors, validation. */
import { expect } from 'chai';
import type { Approval } from '../../service/sessions/approval-json.js';
import { approvalResult, type ApprovalSettings } from '../../service/sessions/approvals.js';
import { parseLastEventId } from '../../service/sessions/follow.js';
import { threadIdOf } from '../../service/sessions/live.js';
import { toUserInput } from '../../service/sessions/ops.js';
import {
  classifyLine,
  classifyLineBytes,
  normalizeSource,
  parseNameLine,
  sessionIdFromFileName,
  splitLines,
  titleFrom,
} from '../../service/sessions/rollout.js';
import { validateBody, validateQuery } from '../../service/sessions/schemas.js';
import { decodeCursor, encodeCursor, snippet } from '../../service/sessions/view.js';

const ID = '01a20112-2d9e-70d0-84ad-ed89cdee0ebe';
const meta = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    timestamp: '2026-01-02T03:04:05.327Z',
    ordinal: 0,
    type: 'session_meta',
    payload: {
      session_id: ID,
      id: ID,
      timestamp: '2026-01-02T03:04:05.284Z',
      cwd: '/work',
      originator: 'codex_cli_rs',
      cli_version: '0.169.0',
      source: 'cli',
      model_provider: 'openai',
      base_instructions: { text: 'You are "Codex" \\ a "quoted" agent. '.repeat(50) },
      git: { commit_hash: 'abc', branch: 'main', repository_url: 'git@x:y.git' },
      ...extra,
    },
  });

describe('sessions: rollout parsing', () => {
  it('reads session_meta (id, cwd, source, git, created time), skipping base_instructions without changing the answer', () => {
    const line = meta();
    const a = classifyLine(line);
    const b = classifyLineBytes(Buffer.from(line), 0, Buffer.byteLength(line));
    expect(a).to.deep.equal(b);
    expect(a.kind).to.equal('meta');
    if (a.kind !== 'meta') return;
    expect(a.meta).to.deep.include({
      id: ID,
      cwd: '/work',
      source: 'cli',
      cliVersion: '0.169.0',
      modelProvider: 'openai',
      forkedFromId: null,
    });
    expect(a.meta.git).to.deep.equal({ sha: 'abc', branch: 'main', originUrl: 'git@x:y.git' });
    expect(a.meta.createdAt).to.equal(Date.parse('2026-01-02T03:04:05.284Z'));
  });

  it('normalizes object sources ({subagent: ...}) to their kind', () => {
    expect(normalizeSource({ subagent: 'review' })).to.equal('subagent');
    expect(normalizeSource('vscode')).to.equal('vscode');
    expect(normalizeSource(7)).to.equal(null);
  });

  it('extracts user and assistant messages in the 0.169 (item_completed) and older (user_message/agent_message) formats', () => {
    const ts = '2026-01-02T03:04:06.000Z';
    const cases: [object, string, string][] = [
      [
        {
          type: 'item_completed',
          thread_id: ID,
          turn_id: 't',
          item: {
            type: 'UserMessage',
            id: 'u',
            content: [{ type: 'text', text: 'hi there', text_elements: [] }],
          },
        },
        'user',
        'hi there',
      ],
      [
        {
          type: 'item_completed',
          thread_id: ID,
          turn_id: 't',
          item: { type: 'AgentMessage', id: 'm', content: [{ type: 'Text', text: 'hello' }] },
        },
        'assistant',
        'hello',
      ],
      [{ type: 'user_message', message: 'old user', images: [] }, 'user', 'old user'],
      [{ type: 'agent_message', message: 'old reply' }, 'assistant', 'old reply'],
    ];
    for (const [payload, role, text] of cases) {
      const line = JSON.stringify({ timestamp: ts, type: 'event_msg', payload });
      const info = classifyLineBytes(Buffer.from(line), 0, Buffer.byteLength(line));
      expect(info, line).to.deep.equal({
        kind: 'message',
        message: { role, text, ts: Date.parse(ts) },
        ts: Date.parse(ts),
      });
    }
  });

  it('skips other and unknown line types cheaply, and marks torn or garbage lines malformed (never throws)', () => {
    const other = JSON.stringify({
      timestamp: '2026-01-02T03:04:06.000Z',
      ordinal: 3,
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [] },
    });
    expect(classifyLine(other)).to.deep.include({
      kind: 'other',
      tsRaw: '2026-01-02T03:04:06.000Z',
    });
    const cmd = JSON.stringify({
      timestamp: 't',
      type: 'event_msg',
      payload: {
        type: 'item_completed',
        thread_id: ID,
        turn_id: 'x',
        item: { type: 'CommandExecution', id: 'c' },
      },
    });
    expect(classifyLine(cmd).kind).to.equal('other');
    expect(
      classifyLine(JSON.stringify({ timestamp: 't', type: 'future_kind', payload: {} })).kind,
    ).to.equal('other');
    for (const bad of [
      '{"timestamp":"2026-01-01T00:00:00Z","type":"event_msg","payload":{"type":"agent_mess',
      'not json',
      '[1,2]',
      '{"type":"session_meta","payload":{"id":"nope"}}',
      meta().slice(0, 500),
    ]) {
      expect(['malformed', 'other'], bad.slice(0, 40)).to.include(classifyLine(bad).kind);
    }
    expect(classifyLine(meta().slice(0, 500)).kind).to.equal('malformed');
  });

  it('splits complete lines only (a trailing fragment waits for its newline), tolerating CRLF and blank lines', () => {
    const buf = Buffer.from('{"a":1}\r\n\n{"b":2}\n{"c":');
    const { lines, consumed } = splitLines(buf);
    expect(lines.map((l) => buf.toString('utf8', l.start, l.end))).to.deep.equal([
      '{"a":1}',
      '{"b":2}',
    ]);
    expect(consumed).to.equal(buf.indexOf('{"c":'));
  });

  it('reads ids from file names, names from session_index.jsonl, and makes titles', () => {
    expect(sessionIdFromFileName(`rollout-2026-01-02T03-04-05-${ID}.jsonl`)).to.equal(ID);
    expect(sessionIdFromFileName('rollout-x.jsonl')).to.equal(undefined);
    expect(sessionIdFromFileName(`../../rollout-2026-${ID}.json`)).to.equal(undefined);
    expect(
      parseNameLine(
        JSON.stringify({ id: ID, thread_name: 'N', updated_at: '2026-01-01T00:00:00Z' }),
      ),
    ).to.deep.include({ id: ID, name: 'N' });
    expect(parseNameLine('{"id":"../x","thread_name":"N"}')).to.equal(undefined);
    expect(titleFrom('\n\n  fix   the\tbuild \nsecond line')).to.equal('fix the build');
    expect(titleFrom('x'.repeat(300)).length).to.equal(120);
  });
});

describe('sessions: approvals, input, cursors and validation', () => {
  it('answers each kind of server request in the shape generate-ts gives', () => {
    expect(approvalResult('commandExecution', {}, { decision: 'acceptForSession' })).to.deep.equal({
      decision: 'acceptForSession',
    });
    expect(approvalResult('fileChange', {}, { decision: 'decline' })).to.deep.equal({
      decision: 'decline',
    });
    const perms = { permissions: { network: { enabled: true }, fileSystem: null } };
    expect(approvalResult('permissions', perms, { decision: 'accept' })).to.deep.equal({
      permissions: { network: { enabled: true } },
      scope: 'turn',
    });
    expect(approvalResult('permissions', perms, { decision: 'decline' })).to.deep.equal({
      permissions: {},
      scope: 'turn',
    });
    expect(
      approvalResult('userInput', {}, { decision: 'accept', answers: { q1: ['yes'] } }),
    ).to.deep.equal({ answers: { q1: { answers: ['yes'] } } });
    expect(approvalResult('elicitation', {}, { decision: 'cancel' })).to.deep.equal({
      action: 'cancel',
      content: null,
      _meta: null,
    });
    expect(approvalResult('legacyExec', {}, { decision: 'accept' })).to.deep.equal({
      decision: 'approved',
    });
    expect(approvalResult('legacyPatch', {}, { decision: 'cancel' })).to.deep.equal({
      decision: 'abort',
    });
  });

  it('turns API input into app-server UserInput items', () => {
    expect(toUserInput('hi', ['https://x/y.png', '/tmp/a.png'])).to.deep.equal([
      { type: 'text', text: 'hi', text_elements: [] },
      { type: 'image', url: 'https://x/y.png' },
      { type: 'localImage', path: '/tmp/a.png' },
    ]);
  });

  it('round-trips list cursors and refuses foreign ones', () => {
    const c = { v: 123, id: ID, n: 50, s: 'created' as const, o: 'desc' as const };
    expect(decodeCursor(encodeCursor(c), 'created', 'desc')).to.deep.equal(c);
    expect(decodeCursor(encodeCursor(c), 'updated', 'desc')).to.equal(undefined);
    expect(decodeCursor('garbage!', 'created', 'desc')).to.equal(undefined);
  });

  it('parses Last-Event-ID and thread ids of notifications', () => {
    expect(parseLastEventId('1234:56')).to.deep.equal({ offset: 1234, seq: 56 });
    expect(parseLastEventId('99')).to.deep.equal({ offset: 99, seq: 0 });
    expect(parseLastEventId('../x')).to.equal(undefined);
    expect(threadIdOf({ thread: { id: 'a' } })).to.equal('a');
    expect(threadIdOf({ threadId: 'b', turn: {} })).to.equal('b');
    expect(threadIdOf(null)).to.equal(undefined);
  });

  it('makes snippets around the match', () => {
    expect(snippet('aaaa NEEDLE bbbb', 'needle', false, 3)).to.equal('…aa NEEDLE bb…');
  });

  it('rejects bad bodies and queries with the schema path that failed, and coerces good queries', () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as { status: number; code: string; extra: { schemaPath: string } };
      }
      throw new Error('did not throw');
    };
    expect(fail(() => validateBody('StartTurn', {})).extra.schemaPath).to.equal('#/required');
    expect(
      fail(() => validateBody('StartSession', { approvalPolicy: 'sometimes' })).extra.schemaPath,
    ).to.equal('#/properties/approvalPolicy/enum');
    expect(
      fail(() => validateBody('AnswerApproval', { decision: 'accept', extra: 1 })).code,
    ).to.equal('invalid_body');
    expect(validateBody('StartTurn', { input: [{ type: 'text', text: 'x' }] })).to.deep.equal({
      input: [{ type: 'text', text: 'x' }],
    });
    expect(validateQuery('ListSessions', { limit: '20' })).to.deep.include({
      limit: 20,
      offset: 0,
      sort: 'created',
      order: 'desc',
      archived: 'false',
    });
    expect(fail(() => validateQuery('ListSessions', { limit: 'lots' })).status).to.equal(400);
  });
});

describe('sessions: held approvals', () => {
  const req = (id: number) => ({
    id,
    method: 'item/commandExecution/requestApproval',
    params: { threadId: 't1', turnId: 'u1', itemId: 'c1', command: 'ls' },
  });

  it('answers with the default decision after the timeout, and refuses a late answer', async () => {
    const { Approvals } = await import('../../service/sessions/approvals.js');
    const sent: [unknown, unknown][] = [];
    const ap = new Approvals({ settings: () => ({ timeoutMs: 30, defaultDecision: 'decline' }) });
    const responder = { respond: (id: unknown, r: unknown) => sent.push([id, r]) };
    expect(ap.hold(req(7), responder)).to.equal(true);
    expect(ap.hold({ id: 8, method: 'item/tool/call', params: {} }, responder)).to.equal(false);
    const [a] = ap.list();
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).to.deep.equal([[7, { decision: 'decline' }]]);
    expect(ap.get(a?.id ?? '')).to.include({
      status: 'expired',
      decision: 'decline',
      answeredBy: 'timeout',
    });
    expect(() => ap.answer(a?.id ?? '', { decision: 'accept' }, responder)).to.throw(
      /already expired/,
    );
    ap.close();
  });

  it('reads its settings at each hold: a new timeout and default apply to the next approval', async () => {
    const { Approvals } = await import('../../service/sessions/approvals.js');
    let settings: ApprovalSettings = { timeoutMs: 60_000, defaultDecision: 'decline' };
    const ap = new Approvals({ settings: () => settings });
    const sent: [unknown, unknown][] = [];
    const responder = { respond: (id: unknown, r: unknown) => sent.push([id, r]) };
    ap.hold(req(1), responder);
    settings = { timeoutMs: 20, defaultDecision: 'accept' }; // what a reload does
    const expired = new Promise<Approval>((r) =>
      ap.on('approval', (a) => a.status === 'expired' && r(a)),
    );
    ap.hold(req(2), responder);
    expect(await expired).to.include({ requestId: 2, decision: 'accept', answeredBy: 'timeout' });
    expect(sent).to.deep.equal([[2, { decision: 'accept' }]]);
    expect(
      ap.list().map((a) => a.requestId),
      'the first keeps its own deadline',
    ).to.deep.equal([1]);
    ap.close();
  });

  it('marks approvals resolved by the server and abandoned when the app-server goes away', async () => {
    const { Approvals } = await import('../../service/sessions/approvals.js');
    const ap = new Approvals({
      settings: () => ({ timeoutMs: 60_000, defaultDecision: 'decline' }),
    });
    const responder = { respond: () => undefined };
    ap.hold(req(1), responder);
    ap.hold(req(2), responder);
    ap.resolved(1);
    ap.abandonAll();
    expect(ap.list({ status: 'all' }).map((a) => [a.requestId, a.status])).to.deep.equal([
      [1, 'resolved'],
      [2, 'abandoned'],
    ]);
    expect(ap.list()).to.have.length(0);
    ap.close();
  });
});

describe('sessions: a file-change approval carries its diff', () => {
  it("finds the item's changes in the thread's live buffer (the newest sighting), or none", async () => {
    const { LiveHub } = await import('../../service/sessions/live.js');
    const { Approvals } = await import('../../service/sessions/approvals.js');
    const hub = new LiveHub();
    const change = (diff: string) => [{ path: '/w/a.txt', kind: { type: 'add' }, diff }];
    const item = (id: string, diff: string) => ({
      threadId: 't1',
      turnId: 'u1',
      item: { type: 'fileChange', id, changes: change(diff), status: 'inProgress' },
    });
    hub.notification('item/started', item('f1', '+old'));
    hub.notification('item/started', item('f2', '+other'));
    hub.notification('item/completed', item('f1', '+hello'));
    expect(hub.fileChanges('t1', 'f1')).to.deep.equal(change('+hello'));
    expect(hub.fileChanges('t1', 'nope')).to.equal(undefined);
    expect(hub.fileChanges('t2', 'f1'), 'another thread').to.equal(undefined);
    // Changes not of FileUpdateChange's shape are not passed on as if they were.
    hub.notification('item/completed', {
      threadId: 't1',
      item: { type: 'fileChange', id: 'f3', changes: [{ path: '/w/b', kind: 'add', diff: 1 }] },
    });
    expect(hub.fileChanges('t1', 'f3')).to.equal(undefined);

    const ap = new Approvals({
      settings: () => ({ timeoutMs: 60_000, defaultDecision: 'decline' }),
    });
    const held = {
      id: 3,
      method: 'item/fileChange/requestApproval',
      params: { threadId: 't1', turnId: 'u1', itemId: 'f1' },
    };
    ap.hold(held, { respond: () => {} }, { changes: hub.fileChanges('t1', 'f1') ?? [] });
    expect(ap.list()[0]?.changes).to.deep.equal(change('+hello'));
    ap.close();
  });
});
