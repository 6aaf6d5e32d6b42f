/**
 * Pure parsing of Codex rollout files (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`).
 *
 * Each line is `{timestamp, ordinal?, type, payload}`. Only a few line types matter for the index:
 * the first `session_meta`, and the user/assistant messages. Everything else (response_item,
 * world_state, turn_context, token_usage_record, ... and types added by future versions) is
 * skipped, as are malformed lines: a bad line never makes a file unreadable.
 *
 * Speed matters (a cold index of 10k files should take about two seconds), and most bytes of a
 * rollout are in lines we do not need (model inputs, tool output). So every line is first
 * classified from a short prefix, and only the few interesting ones are JSON-parsed.
 */

export interface GitMeta {
  sha: string | null;
  branch: string | null;
  originUrl: string | null;
}

export interface SessionMeta {
  id: string;
  /** ms since epoch */
  createdAt: number;
  cwd: string | null;
  originator: string | null;
  cliVersion: string | null;
  source: string | null;
  modelProvider: string | null;
  git: GitMeta | null;
  forkedFromId: string | null;
}

export type MessageRole = 'user' | 'assistant';

export interface RolloutMessage {
  role: MessageRole;
  text: string;
  /** ms since epoch (the line's timestamp), or null when the line had none */
  ts: number | null;
}

/** What one line contributes to the index. */
export type LineInfo =
  | { kind: 'meta'; meta: SessionMeta; ts: number | null }
  | { kind: 'message'; message: RolloutMessage; ts: number | null }
  /** Skipped lines keep their timestamp unparsed: ISO strings compare in time order, and Date.parse on every line is measurable. */
  | { kind: 'other'; ts: number | null; tsRaw?: string }
  | { kind: 'malformed' };

/** The canonical thread id shape (Codex ids are UUIDs: v7 today, v4 in older homes). */
export const SESSION_ID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isSessionId(id: string): boolean {
  return SESSION_ID_RE.test(id);
}

/** `rollout-2025-01-02T03-04-05-<uuid>.jsonl` → the uuid, or undefined for other names. */
export function sessionIdFromFileName(name: string): string | undefined {
  const m =
    /^rollout-.*-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl$/.exec(
      name,
    );
  return m?.[1]?.toLowerCase();
}

const HEADER_BYTES = 320;
const TS_RE = /^\{"timestamp":"([^"]{10,40})"/;
const TYPE_RE = /"type":"([A-Za-z_]+)"/;
const PAYLOAD_TYPE_RE = /"payload":\{"type":"([A-Za-z_]+)"/;
const ITEM_TYPE_RE = /"item":\{"type":"([A-Za-z_]+)"/;

/** Event payload types that carry a user or assistant message (old and new rollout formats). */
const MESSAGE_EVENTS = new Set(['user_message', 'agent_message', 'item_completed']);

function parseTs(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** `"cli"`, `{"subagent":"review"}`, `{"custom":"x"}` → one string for filtering. */
export function normalizeSource(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const k = Object.keys(v)[0];
    return k === undefined ? null : k;
  }
  return null;
}

export function metaFromPayload(
  p: Record<string, unknown>,
  lineTs: number | null,
): SessionMeta | undefined {
  const id = str(p.id) ?? str(p.session_id);
  if (!id || !isSessionId(id)) return undefined;
  const g = p.git && typeof p.git === 'object' ? (p.git as Record<string, unknown>) : undefined;
  return {
    id: id.toLowerCase(),
    createdAt: parseTs(p.timestamp) ?? lineTs ?? 0,
    cwd: str(p.cwd),
    originator: str(p.originator),
    cliVersion: str(p.cli_version),
    source: normalizeSource(p.source),
    modelProvider: str(p.model_provider),
    git: g
      ? { sha: str(g.commit_hash), branch: str(g.branch), originUrl: str(g.repository_url) }
      : null,
    forkedFromId: str(p.forked_from_id),
  };
}

/** Text of `[{type:"text"|"Text"|"input_text"|"output_text", text}]`, joined by newlines. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const c of content)
    if (c && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string')
      parts.push((c as { text: string }).text);
  return parts.join('\n');
}

/** A message from an `event_msg` payload, in any of the formats Codex has written. */
export function messageFromEvent(
  p: Record<string, unknown>,
  ts: number | null,
): RolloutMessage | undefined {
  switch (p.type) {
    case 'user_message': // older format: {type, message, images?}
      return typeof p.message === 'string' ? { role: 'user', text: p.message, ts } : undefined;
    case 'agent_message':
      return typeof p.message === 'string' ? { role: 'assistant', text: p.message, ts } : undefined;
    case 'item_completed': {
      // 0.16x format: {type:"item_completed", item:{type:"UserMessage"|"AgentMessage", content:[...]}}
      const item = p.item as Record<string, unknown> | undefined;
      if (!item || typeof item !== 'object') return undefined;
      const role: MessageRole | undefined =
        item.type === 'UserMessage'
          ? 'user'
          : item.type === 'AgentMessage'
            ? 'assistant'
            : undefined;
      if (!role) return undefined;
      const text = contentText(item.content);
      return text ? { role, text, ts } : undefined;
    }
    default:
      return undefined;
  }
}

/** Which line types are worth a JSON.parse, decided from the first few hundred characters. */
function wanted(head: string): { want: boolean; tsRaw: string | undefined } {
  const tsRaw = TS_RE.exec(head)?.[1];
  const type = TYPE_RE.exec(head)?.[1];
  if (type === 'session_meta' || type === undefined) return { want: true, tsRaw }; // no recognisable prefix: parse to be sure
  if (type !== 'event_msg') return { want: false, tsRaw };
  const pt = PAYLOAD_TYPE_RE.exec(head)?.[1];
  if (pt === undefined) return { want: true, tsRaw };
  if (!MESSAGE_EVENTS.has(pt)) return { want: false, tsRaw };
  if (pt !== 'item_completed') return { want: true, tsRaw };
  const it = ITEM_TYPE_RE.exec(head)?.[1];
  return { want: it === undefined || it === 'UserMessage' || it === 'AgentMessage', tsRaw };
}

function fromParsed(text: string, tsRaw: string | undefined): LineInfo {
  const ts = tsRaw === undefined ? null : parseTs(tsRaw);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { kind: 'malformed' };
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return { kind: 'malformed' };
  const line = obj as { timestamp?: unknown; type?: unknown; payload?: unknown };
  const lineTs = parseTs(line.timestamp) ?? ts;
  const payload =
    line.payload && typeof line.payload === 'object'
      ? (line.payload as Record<string, unknown>)
      : undefined;
  if (!payload) return { kind: 'other', ts: lineTs };
  if (line.type === 'session_meta') {
    const meta = metaFromPayload(payload, lineTs);
    return meta ? { kind: 'meta', meta, ts: lineTs } : { kind: 'other', ts: lineTs };
  }
  if (line.type === 'event_msg') {
    const message = messageFromEvent(payload, lineTs);
    if (message) return { kind: 'message', message, ts: lineTs };
  }
  return { kind: 'other', ts: lineTs };
}

/**
 * Classify one line (without its newline). Cheap for lines we skip: the decision is made from
 * the first few hundred characters, and a skipped line only gets a brace check so a torn write
 * still counts as malformed.
 */
export function classifyLine(text: string): LineInfo {
  const { want, tsRaw } = wanted(text.length > HEADER_BYTES ? text.slice(0, HEADER_BYTES) : text);
  if (want) return fromParsed(text, tsRaw);
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125
    ? { kind: 'other', ts: null, tsRaw }
    : { kind: 'malformed' };
}

const BULK_KEY = Buffer.from('"base_instructions":{"text":"');

/**
 * The line's text, minus session_meta's `base_instructions` (about 21 KB of the model's system
 * prompt in every rollout: half the bytes of a typical home, and never needed here). Falls back
 * to the whole line whenever the shape is not exactly the expected one.
 */
function withoutBulk(buf: Buffer, start: number, end: number): string {
  // Only the line's head: indexOf on the whole buffer would scan the lines after it too.
  const rel = buf.subarray(start, Math.min(end, start + 4096)).indexOf(BULK_KEY);
  if (rel === -1) return buf.toString('utf8', start, end);
  const k = start + rel;
  let q = k + BULK_KEY.length;
  for (;;) {
    q = buf.indexOf(34 /* " */, q);
    if (q === -1 || q >= end) return buf.toString('utf8', start, end);
    let bs = 0;
    while (buf[q - 1 - bs] === 92 /* \\ */) bs++;
    if (bs % 2 === 0) break;
    q++;
  }
  if (buf[q + 1] !== 125 /* } */) return buf.toString('utf8', start, end);
  // Keep the key with an empty object so the JSON stays valid whatever follows.
  return (
    buf.toString('utf8', start, k) + '"base_instructions":{}' + buf.toString('utf8', q + 2, end)
  );
}

/** classifyLine on a byte range: skipped lines are never decoded as a whole (most bytes of a rollout). */
export function classifyLineBytes(buf: Buffer, start: number, end: number): LineInfo {
  // latin1 is a 1:1 byte decode: enough for the ASCII keys and values the prefix check reads.
  const { want, tsRaw } = wanted(
    buf.toString('latin1', start, Math.min(end, start + HEADER_BYTES)),
  );
  if (want) return fromParsed(withoutBulk(buf, start, end), tsRaw);
  return buf[start] === 123 && buf[end - 1] === 125
    ? { kind: 'other', ts: null, tsRaw }
    : { kind: 'malformed' };
}

/** One complete line found in a buffer: [start, end) excludes the newline. */
export interface LineSpan {
  start: number;
  end: number;
}

/**
 * Split a buffer into complete lines. A trailing fragment without a newline is not returned:
 * Codex may be in the middle of writing it; `consumed` says where the next read starts.
 */
export function splitLines(
  buf: Buffer,
  length = buf.length,
): { lines: LineSpan[]; consumed: number } {
  const lines: LineSpan[] = [];
  let pos = 0;
  while (pos < length) {
    const nl = buf.indexOf(10, pos);
    if (nl === -1 || nl >= length) break;
    let end = nl;
    if (end > pos && buf[end - 1] === 13) end--; // tolerate CRLF
    if (end > pos) lines.push({ start: pos, end });
    pos = nl + 1;
  }
  return { lines, consumed: pos };
}

/** One-line preview of a message: first non-empty line, whitespace collapsed, at most `max` chars. */
export function titleFrom(text: string, max = 120): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const s = line.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** A line of `$CODEX_HOME/session_index.jsonl`: `{id, thread_name, updated_at}`. */
export function parseNameLine(
  text: string,
): { id: string; name: string; updatedAt: number | null } | undefined {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.id !== 'string' || !isSessionId(o.id) || typeof o.thread_name !== 'string')
      return undefined;
    return { id: o.id.toLowerCase(), name: o.thread_name, updatedAt: parseTs(o.updated_at) };
  } catch {
    return undefined;
  }
}
