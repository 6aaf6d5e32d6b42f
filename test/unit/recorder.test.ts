/**
 * The harness's Recorder (harness/recorder.ts): every test and benchmark waits on it, so its
 * three ways out of a wait are tested here — a match, the timeout, an abort.
 */
import { expect } from 'chai';
import { Recorder } from '../../harness/recorder.js';

const never = () => 'never';

describe('harness Recorder.waitFor (unit)', () => {
  it('resolves with an item that already arrived, or with the first match that comes later', async () => {
    const r = new Recorder<number>();
    r.push(1);
    expect(await r.waitFor((n) => n === 1, 1000, never)).to.equal(1);
    const later = r.waitFor((n) => n > 2, 1000, never);
    r.push(2);
    r.push(3);
    r.push(4);
    expect(await later).to.equal(3);
  });

  it('rejects after the timeout, naming what it saw', async () => {
    const r = new Recorder<number>();
    let err: unknown;
    await r
      .waitFor(
        () => false,
        1,
        () => 'saw nothing',
      )
      .catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/not seen in 1 ms; saw nothing/);
  });

  it('rejects at once with the reason when its signal aborts', async () => {
    const r = new Recorder<number>();
    const ac = new AbortController();
    // 60 s: were the abort ignored, the test would time out instead of passing.
    const waiting = r.waitFor((n) => n === 7, 60_000, never, ac.signal);
    ac.abort(new Error('the process exited'));
    let err: unknown;
    await waiting.catch((e: unknown) => (err = e));
    expect(String(err)).to.equal('Error: the process exited');
  });

  it('rejects at once on a signal that had already aborted; a match already there still wins', async () => {
    const r = new Recorder<number>();
    r.push(5);
    const aborted = AbortSignal.abort(new Error('gone'));
    expect(await r.waitFor((n) => n === 5, 60_000, never, aborted)).to.equal(5);
    let err: unknown;
    await r.waitFor((n) => n === 6, 60_000, never, aborted).catch((e: unknown) => (err = e));
    expect(String(err)).to.equal('Error: gone');
  });
});
