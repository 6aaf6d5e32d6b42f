/** Webhooks' pure parts: signing, the formats, the retry schedule, event mapping; the outbox repo. */
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { tempDir } from '../../harness/service.js';
import { nextAttemptAt, signedRequest } from '../../service/notify/delivery.js';
import {
  AppServerWatch,
  approvalEvent,
  stamp,
  turnEvent,
  type NotifyEvent,
} from '../../service/notify/events.js';
import { render } from '../../service/notify/formats.js';
import { signature, verifySignature } from '../../service/notify/signing.js';
import type { Approval } from '../../service/sessions/approval-json.js';
import { OutboxRepo } from '../../service/store/outbox.js';
import { Store } from '../../service/store/store.js';
import type { AppServerJson, AppServerState } from '../../service/status-json.js';

const event: NotifyEvent = {
  id: '00000000-0000-4000-8000-000000000001',
  type: 'approval.requested',
  time: '2025-01-01T00:00:00.000Z',
  summary: 'Codex asks to run `rm -rf build`',
  sessionId: '0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000',
  data: {},
};

describe('webhook signing (unit)', () => {
  it('is sha256=HMAC(secret, timestamp + "." + body) in hex, as docs/notify.md says', () => {
    const want = createHmac('sha256', 's3cret').update('1700000000.{"a":1}').digest('hex');
    expect(signature('s3cret', 1700000000, '{"a":1}')).to.equal(`sha256=${want}`);
  });

  it('verifies only the same secret, timestamp and body', () => {
    const sig = signature('s3cret', 1700000000, 'body');
    expect(verifySignature('s3cret', '1700000000', 'body', sig)).to.equal(true);
    expect(verifySignature('other', '1700000000', 'body', sig)).to.equal(false);
    expect(verifySignature('s3cret', '1700000001', 'body', sig)).to.equal(false);
    expect(verifySignature('s3cret', '1700000000', 'body ', sig)).to.equal(false);
    expect(verifySignature('s3cret', 'x', 'body', sig)).to.equal(false);
    expect(verifySignature('s3cret', '1700000000', 'body', 'sha256=00')).to.equal(false);
  });

  it('signs exactly the body it sends, with the codex-sm headers; unsigned without a secret', () => {
    const r = signedRequest(event, { url: 'http://x', format: 'json' }, 'k', 1_700_000_000_999);
    expect(r.headers['X-Codex-SM-Timestamp']).to.equal('1700000000');
    expect(r.headers['X-Codex-SM-Event']).to.equal('approval.requested');
    expect(r.headers['X-Codex-SM-Event-Id']).to.equal(event.id);
    expect(r.headers['X-Codex-SM-Signature']).to.equal(signature('k', 1700000000, r.body));
    const plain = signedRequest(event, { url: 'http://x', format: 'json' }, undefined, 0);
    expect(plain.headers).to.not.have.property('X-Codex-SM-Signature');
  });
});

describe('webhook formats (unit)', () => {
  it('json: the event itself', () => {
    const r = render(event, 'json');
    expect(r.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(r.body)).to.deep.equal(event);
  });

  it('ntfy: the summary as the message, title/priority/tags (and click when there is a link) as headers', () => {
    const r = render(event, 'ntfy', 'https://dash.example/s/1');
    expect(r.body).to.equal(event.summary);
    expect(r.headers).to.include({
      Title: 'codex-sm: approval.requested (0199aaaa)',
      Priority: '5',
      Tags: 'warning,codex',
      Click: 'https://dash.example/s/1',
    });
    expect(render({ ...event, type: 'service.started' }, 'ntfy').headers).to.include({
      Priority: '2',
    });
    // A header value never carries what HTTP forbids (a name with a newline or non-Latin-1).
    const odd = render({ ...event, sessionId: 'é\nxyz' }, 'ntfy');
    expect(odd.headers.Title).to.match(/^[\x20-\x7e]+$/);
  });
});

describe('webhook retry schedule (unit)', () => {
  const s = {
    requestTimeoutMs: 1000,
    retryForMs: 60_000,
    backoffInitialMs: 1000,
    backoffMaxMs: 8000,
  };

  it('doubles from the initial delay up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => (nextAttemptAt(n, 0, 0, s) as number) - 0);
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('gives up once the next attempt would fall after retryForMs from the event', () => {
    expect(nextAttemptAt(3, 0, 55_000, s)).to.equal(59_000);
    expect(nextAttemptAt(4, 0, 55_000, s)).to.equal(undefined);
  });
});

describe('webhook event mapping (unit)', () => {
  const approval = (status: Approval['status']): Approval => ({
    id: 'a1',
    requestId: 1,
    method: 'item/commandExecution/requestApproval',
    kind: 'commandExecution',
    threadId: 't1',
    turnId: 'u1',
    itemId: 'i1',
    params: { command: 'make test', cwd: '/w' },
    status,
    createdAt: '2025-01-01T00:00:00Z',
    expiresAt: '2025-01-01T00:10:00Z',
    ...(status === 'expired' ? { decision: 'decline' as const } : {}),
  });

  it('approvals: pending → requested, expired → timedOut, the rest → nothing', () => {
    expect(approvalEvent(approval('pending'))).to.include({
      type: 'approval.requested',
      sessionId: 't1',
      approvalId: 'a1',
      summary: 'Codex asks to run `make test`',
    });
    expect(approvalEvent(approval('expired'))?.type).to.equal('approval.timedOut');
    expect(approvalEvent(approval('answered'))).to.equal(undefined);
  });

  it('turns: completed and failed, not interrupted', () => {
    const p = (status: string) => ({ threadId: 't', turn: { id: 'u', status, error: null } });
    expect(turnEvent('turn/completed', p('completed'))?.type).to.equal('turn.completed');
    expect(turnEvent('turn/completed', p('failed'))?.type).to.equal('turn.failed');
    expect(turnEvent('turn/completed', p('interrupted'))).to.equal(undefined);
    expect(turnEvent('turn/started', p('inProgress'))).to.equal(undefined);
  });

  it('app-server: restarted only after a ready that went away; one failed per outage', () => {
    const snap = (state: AppServerState): AppServerJson => ({
      state,
      restarts: 0,
      remoteControl: { enabled: false, status: null, serverName: null },
    });
    const w = new AppServerWatch();
    const seq: AppServerState[] = [
      'starting',
      'ready',
      'backoff',
      'starting',
      'backoff',
      'starting',
      'ready',
    ];
    const out = seq.map((st) => w.state(snap(st))?.type);
    expect(out).to.deep.equal([
      undefined,
      undefined,
      'appServer.failed',
      undefined,
      undefined,
      undefined,
      'appServer.restarted',
    ]);
    expect(w.state(snap('restarting'))).to.equal(undefined);
    expect(w.state(snap('ready'))?.type).to.equal('appServer.restarted');
  });
});

describe('webhook outbox (unit, a real store file)', () => {
  it('keeps one row per target, in order; delivered, retried and failed rows; orphans failed', () => {
    const store = Store.open(tempDir());
    try {
      const repo = new OutboxRepo(store);
      const e1 = stamp({ type: 'service.started', summary: 's', data: {} });
      const e2 = stamp({ type: 'turn.completed', summary: 't', data: {} });
      repo.enqueue({ id: e1.id, type: e1.type, json: JSON.stringify(e1) }, ['A', 'B']);
      repo.enqueue({ id: e2.id, type: e2.type, json: JSON.stringify(e2) }, ['A']);
      expect(repo.pendingCount()).to.equal(3);
      const first = repo.nextPending('A');
      expect(first?.eventId).to.equal(e1.id);
      repo.attemptFailed(first!.seq, 'HTTP 500', Date.now() + 1000);
      expect(repo.nextPending('A')).to.include({
        eventId: e1.id,
        attempts: 1,
        lastError: 'HTTP 500',
      });
      repo.delivered(first!.seq);
      expect(repo.nextPending('A')?.eventId).to.equal(e2.id);
      repo.attemptFailed(repo.nextPending('A')!.seq, 'timeout', undefined);
      expect(repo.nextPending('A')).to.equal(undefined);
      expect(repo.byEvent(e2.id).map((r) => r.status)).to.deep.equal(['failed']);
      expect(repo.failOrphans(['A'])).to.equal(1); // B's row
      expect(repo.pendingCount()).to.equal(0);
    } finally {
      store.close();
    }
  });
});
