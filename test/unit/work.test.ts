/**
 * The pure parts of queued and grouped work: what a recorded turn means for a job, how an
 * attempt is found again after a crash, and the event log's replay rule.
 */
import { expect } from 'chai';
import {
  attemptId,
  endOf,
  findAttempt,
  settle,
  unsettled,
  type TurnRecord,
} from '../../service/work/turn-records.js';
import { EventLog } from '../../service/work/events.js';

const turn = (id: string, status: string, clientId: string | null, reply?: string): TurnRecord => ({
  id,
  status,
  durationMs: 12,
  items: [
    { type: 'userMessage', clientId },
    ...(reply
      ? [
          { type: 'agentMessage', text: 'thinking' },
          { type: 'agentMessage', text: reply },
        ]
      : []),
  ],
});

describe('turn records → job ends', () => {
  it('a completed turn gives its last assistant message as the result', () => {
    const end = endOf(turn('t1', 'completed', 'p#1', 'done'));
    expect(end).to.deep.equal({
      status: 'completed',
      result: { message: 'done', usage: null, durationMs: 12 },
      error: null,
    });
  });

  it('a failed turn keeps its error; an unfinished one (the app-server died) is interrupted', () => {
    const failed = endOf({ ...turn('t1', 'failed', 'p#1'), error: { message: 'quota' } });
    expect(failed.status).to.equal('failed');
    expect(failed.error).to.equal('quota');
    expect(endOf(turn('t2', 'inProgress', 'p#1')).status).to.equal('interrupted');
    expect(endOf(turn('t3', 'interrupted', 'p#1')).status).to.equal('interrupted');
  });

  it('finds the attempt by the client id on its user message, and only that attempt', () => {
    const turns = [turn('a', 'completed', 'p#1', 'x'), turn('b', 'interrupted', 'p#2')];
    expect(findAttempt(turns, attemptId('p', 2))?.id).to.equal('b');
    expect(findAttempt(turns, attemptId('p', 3))).to.equal(undefined);
    expect(findAttempt(turns, attemptId('q', 1))).to.equal(undefined);
  });
});

describe('reconciling a job after a crash', () => {
  const turns = [turn('t1', 'completed', 'p#1', 'one'), turn('t2', 'inProgress', 'p#2')];

  it('a running job ends as its recorded turn did; a turn the thread lacks is interrupted', () => {
    expect(settle({ status: 'running', turnId: 't1', attempts: 1 }, 'p', turns)).to.deep.include({
      turnId: 't1',
      adopt: false,
    });
    expect(
      settle({ status: 'running', turnId: 't1', attempts: 1 }, 'p', turns)?.end.status,
    ).to.equal('completed');
    expect(
      settle({ status: 'running', turnId: 'gone', attempts: 1 }, 'p', turns)?.end.status,
    ).to.equal('interrupted');
  });

  it('an attempt that reached the app-server unrecorded is adopted; one that did not runs again', () => {
    const adopted = settle({ status: 'pending', turnId: null, attempts: 2 }, 'p', turns);
    expect(adopted).to.deep.include({ turnId: 't2', adopt: true });
    expect(adopted?.end.status, 'the old app-server died mid-turn').to.equal('interrupted');
    expect(settle({ status: 'pending', turnId: null, attempts: 3 }, 'p', turns)).to.equal(
      undefined,
    );
    expect(settle({ status: 'pending', turnId: null, attempts: 0 }, 'p', turns)).to.equal(
      undefined,
    );
  });

  it('an interrupted job whose last attempt is its recorded turn is already settled', () => {
    const job = { status: 'interrupted', turnId: 't2', attempts: 2 };
    expect(unsettled(job)).to.equal(true);
    expect(settle(job, 'p', turns)).to.equal(undefined);
    expect(unsettled({ status: 'completed', turnId: 't1', attempts: 1 })).to.equal(false);
  });
});

describe('EventLog replay', () => {
  it('replays what followed a Last-Event-ID of this boot, for that key only', () => {
    const log = new EventLog();
    const first = log.publish('q1', 'a', {});
    log.publish('q2', 'b', {});
    const third = log.publish('q1', 'c', {});
    expect(log.since('q1', first.id)?.map((e) => e.id)).to.deep.equal([third.id]);
    expect(log.since('q1', third.id)).to.deep.equal([]);
  });

  it('asks for a snapshot when it cannot replay: unknown id, another boot, trimmed events', () => {
    const log = new EventLog(2);
    const first = log.publish('q1', 'a', {});
    for (let i = 0; i < 3; i++) log.publish('q1', 'x', {});
    expect(log.since('q1', first.id), 'trimmed').to.equal(undefined);
    expect(log.since('q1', undefined)).to.equal(undefined);
    expect(log.since('q1', 'garbage')).to.equal(undefined);
    expect(log.since('q1', `ffffffff:${first.id.split(':')[1]}`), 'other boot').to.equal(undefined);
  });
});
