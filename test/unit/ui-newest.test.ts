/**
 * The sessions page's guard against answers arriving out of order (ui/src/newest.ts, pure): a
 * slow "Load more" that ends after the filters changed must not append its old rows.
 */
import { expect } from 'chai';
import { newestWins } from '../../ui/src/newest.js';

describe('newest answer wins (pure)', () => {
  it('applies only the answer of the newest request, whatever order they finish in', async () => {
    const newest = newestWins();
    let rows: string[] = [];
    const load = async (answer: Promise<string[]>, append: boolean) => {
      const current = newest.take();
      const r = await answer;
      if (current()) rows = append ? [...rows, ...r] : r;
    };
    let releaseMore: (r: string[]) => void = () => {};
    const more = load(new Promise((r) => (releaseMore = r)), true); // "Load more", slow
    const filtered = load(Promise.resolve(['new-1', 'new-2']), false); // filters changed
    await filtered;
    releaseMore(['old-51', 'old-52']);
    await more;
    expect(rows).to.deep.equal(['new-1', 'new-2']);
  });

  it('each guard has its own tickets', () => {
    const a = newestWins();
    const b = newestWins();
    const t = a.take();
    b.take();
    expect(t()).to.equal(true);
    a.take();
    expect(t()).to.equal(false);
  });
});
