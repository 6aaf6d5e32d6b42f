/**
 * The queue and group event names are one list (service/work/event-names.ts): the engines can
 * emit only those (their type), the dashboard listens to those, and docs/queues.md names the
 * same ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../../harness/service.js';
import { GROUP_EVENTS, QUEUE_EVENTS } from '../../service/work/event-names.js';

function documented(kind: 'queues' | 'groups'): string[] {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'queues.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Events'));
  const m = new RegExp(`^- ${kind}: ([\\s\\S]*?)(?=^- |^$)`, 'm').exec(section);
  expect(m, `docs/queues.md lists the ${kind} events`).to.not.equal(null);
  return [...(m?.[1] ?? '').replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!);
}

describe('queue and group event names', () => {
  it('are the ones docs/queues.md lists', () => {
    expect(documented('queues')).to.have.members([...QUEUE_EVENTS]);
    expect(documented('groups')).to.have.members([...GROUP_EVENTS]);
  });
});
