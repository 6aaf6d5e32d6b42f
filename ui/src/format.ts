/** Small pure formatters for what the pages show. */

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.max(0, s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * `text` split around each case-insensitive occurrence of `q`, for highlighting the match in a
 * search snippet without building HTML: [before, match, between, match, …, after].
 */
export function splitMatches(text: string, q: string, caseSensitive = false): string[] {
  if (!q) return [text];
  const hay = caseSensitive ? text : text.toLowerCase();
  const needle = caseSensitive ? q : q.toLowerCase();
  const out: string[] = [];
  let from = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, from)) {
    out.push(text.slice(from, i), text.slice(i, i + needle.length));
    from = i + needle.length;
  }
  out.push(text.slice(from));
  return out;
}
