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
 * `text` lower-cased one character at a time, with where each lower-cased UTF-16 unit came from:
 * `toLowerCase` can change a string's length ('İ' becomes 'i̇', two units), so an index into the
 * lower-cased text is not one into `text`.
 */
function foldCase(text: string): { folded: string; from: number[]; to: number[] } {
  let folded = '';
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < text.length;) {
    const ch = String.fromCodePoint(text.codePointAt(i) ?? 0);
    const low = ch.toLowerCase();
    for (let k = 0; k < low.length; k++) {
      from.push(i);
      to.push(i + ch.length);
    }
    folded += low;
    i += ch.length;
  }
  return { folded, from, to };
}

/**
 * `text` split around each case-insensitive occurrence of `q`, for highlighting the match in a
 * search snippet without building HTML: [before, match, between, match, …, after]. Slices are
 * of `text` itself, whole characters, however lower-casing changes lengths.
 */
export function splitMatches(text: string, q: string, caseSensitive = false): string[] {
  if (!q) return [text];
  const needle = caseSensitive ? q : foldCase(q).folded;
  const hay = caseSensitive ? undefined : foldCase(text);
  const folded = hay?.folded ?? text;
  // Where a match in the folded text starts and ends in `text` (whole characters).
  const start = (i: number) => (hay ? (hay.from[i] ?? text.length) : i);
  const end = (j: number) => (hay ? (hay.to[j - 1] ?? text.length) : j);
  const out: string[] = [];
  let from = 0; // in `text`
  let at = 0; // in the folded text
  for (let i = folded.indexOf(needle); i !== -1; i = folded.indexOf(needle, at)) {
    // Two matches inside one character that folds to several: the second starts where the first ended.
    const s = Math.max(start(i), from);
    const e = end(i + needle.length);
    out.push(text.slice(from, s), text.slice(s, e));
    from = e;
    at = i + needle.length;
  }
  out.push(text.slice(from));
  return out;
}
