/** Plain-text layouts for human output; null/undefined values show as "-". */
const cell = (v: unknown) => (v === undefined || v === null ? '-' : String(v));

/** Two-column "key  value" lines. */
export function table(rows: [string, unknown][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n');
}

/** Columns under a header, each padded to its widest cell (the last one is not padded). */
export function columns(head: string[], rows: unknown[][]): string {
  const text = rows.map((r) => r.map(cell));
  const w = head.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] ?? 0))).join('  ');
  return [line(head), ...text.map(line)].join('\n');
}

/** At most `n` characters, on one line, with an ellipsis when cut; "-" when empty. */
export function clip(s: string | null | undefined, n: number): string {
  const one = (s ?? '').replace(/\s+/g, ' ').trim();
  return !one ? '-' : one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** An ISO 8601 time to the minute, as `2026-01-02 03:04`. */
export function minute(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 16) : '-';
}
