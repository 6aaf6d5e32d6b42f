/**
 * A session as a list of entries (messages, reasoning summaries, commands and their output,
 * file changes, approvals, notices), built from what `GET /api/sessions/:id/events` streams:
 * rollout lines (what Codex wrote: history, and the live tail) and the app-server's
 * notifications (live: deltas as they stream). Both name items by the same id, so an item seen
 * both ways is one entry. Pure: no DOM, no fetch.
 */
import type { Approval } from '../../service/sessions/approval-json.js';

export interface FileChange {
  path: string;
  kind: string;
  diff: string;
}

export type Entry =
  | { key: string; kind: 'user'; text: string }
  | { key: string; kind: 'agent'; text: string; done: boolean }
  | { key: string; kind: 'reasoning'; text: string; done: boolean }
  | {
      key: string;
      kind: 'command';
      command: string;
      cwd: string;
      output: string;
      exitCode: number | null;
      status: string;
      done: boolean;
    }
  | { key: string; kind: 'fileChange'; changes: FileChange[]; status: string; done: boolean }
  | { key: string; kind: 'approval'; approval: Approval }
  | { key: string; kind: 'notice'; text: string; tone: 'info' | 'error' };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An approval's request params (an object in every request the app-server makes), or {}. */
export const paramsOf = (a: Pick<Approval, 'params'>): Json => (isObj(a.params) ? a.params : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `[{type:"text"|"Text"|"output_text"…, text}]` → the text, joined. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((c) => (isObj(c) ? str(c.text) : ''))
    .filter(Boolean)
    .join('\n');
}

/**
 * A file added or deleted comes as its whole content, not as a diff: shown as one, every line
 * an addition (or a deletion), so it reads like the updates beside it.
 */
function asDiff(kind: string, text: string): string {
  const sign = kind === 'add' ? '+' : kind === 'delete' ? '-' : '';
  if (!sign || !text || /^(@@|\+\+\+ |--- )/m.test(text)) return text;
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => sign + l)
    .join('\n');
}

/** The files of a change: the app-server's list, or the rollout's map by path. */
export function changesOf(v: unknown): FileChange[] {
  const change = (path: string, kind: string, text: string): FileChange => ({
    path,
    kind,
    diff: asDiff(kind, text),
  });
  if (Array.isArray(v))
    return v
      .filter(isObj)
      .map((c) => change(str(c.path), isObj(c.kind) ? str(c.kind.type) : str(c.kind), str(c.diff)));
  // The rollout's shape: {path: {type: "add"|"delete"|"update", content | unified_diff}}.
  if (isObj(v))
    return Object.entries(v).map(([path, c]) =>
      change(
        path,
        isObj(c) ? str(c.type) : '',
        isObj(c) ? str(c.unified_diff) || str(c.content) : '',
      ),
    );
  return [];
}

/**
 * A reasoning summary's heading (models open each part with `**A heading**`) and the rest: the
 * heading is what the collapsed summary shows.
 */
export function reasoningParts(text: string): { title: string; body: string } {
  const m = /^\s*\*\*([^*\n]+)\*\*\s*/.exec(text);
  return m
    ? { title: (m[1] ?? '').trim(), body: text.slice(m[0].length) }
    : { title: '', body: text };
}

/** One item, as a notification (camelCase) or a rollout `item_completed` (PascalCase) has it. */
function entryOfItem(item: Json, done: boolean): Entry | undefined {
  const key = str(item.id);
  if (!key) return undefined;
  const type = str(item.type).replace(/^./, (c) => c.toLowerCase());
  switch (type) {
    case 'userMessage':
      return { key, kind: 'user', text: contentText(item.content) };
    case 'agentMessage':
      return { key, kind: 'agent', text: str(item.text) || contentText(item.content), done };
    case 'reasoning': {
      const summary = item.summary ?? item.summary_text;
      const text = Array.isArray(summary) ? summary.map(str).join('\n\n') : '';
      return { key, kind: 'reasoning', text, done };
    }
    case 'commandExecution': {
      const command = Array.isArray(item.command)
        ? item.command.map(str).join(' ')
        : str(item.command);
      const exit = item.exitCode ?? item.exit_code;
      return {
        key,
        kind: 'command',
        command,
        cwd: str(item.cwd).replace(/^file:\/\//, ''),
        output: str(item.aggregatedOutput ?? item.aggregated_output),
        exitCode: typeof exit === 'number' ? exit : null,
        status: str(item.status),
        done,
      };
    }
    case 'fileChange':
      return {
        key,
        kind: 'fileChange',
        changes: changesOf(item.changes),
        status: str(item.status),
        done,
      };
    default:
      return undefined;
  }
}

export interface ThreadState {
  status: string;
  /** `waitingOnApproval` and the like, from `thread/status/changed`. */
  flags: string[];
  activeTurnId: string | null;
}

export class Timeline {
  entries: Entry[] = [];
  state: ThreadState = { status: '', flags: [], activeTurnId: null };
  private readonly at = new Map<string, number>();
  private seq = 0;

  private put(e: Entry): void {
    const i = this.at.get(e.key);
    if (i === undefined) {
      this.at.set(e.key, this.entries.length);
      this.entries.push(e);
    } else this.entries[i] = e;
  }

  private get(key: string): Entry | undefined {
    const i = this.at.get(key);
    return i === undefined ? undefined : this.entries[i];
  }

  private isDone(key: string): boolean {
    const e = this.get(key);
    return !!e && 'done' in e && e.done;
  }

  private notice(text: string, tone: 'info' | 'error'): void {
    this.put({ key: `notice:${++this.seq}`, kind: 'notice', text, tone });
  }

  /** One rollout line (`{timestamp, type, payload}`). */
  rollout(line: unknown): void {
    if (!isObj(line) || line.type !== 'event_msg' || !isObj(line.payload)) return;
    const p = line.payload;
    switch (p.type) {
      case 'item_completed':
        if (isObj(p.item)) {
          const e = entryOfItem(p.item, true);
          if (e) this.put(e);
        }
        return;
      // Rollouts of older Codex versions: messages without item ids.
      case 'user_message':
        return this.put({ key: `r:${++this.seq}`, kind: 'user', text: str(p.message) });
      case 'agent_message':
        return this.put({
          key: `r:${++this.seq}`,
          kind: 'agent',
          text: str(p.message),
          done: true,
        });
      case 'agent_reasoning':
        return this.put({
          key: `r:${++this.seq}`,
          kind: 'reasoning',
          text: str(p.text),
          done: true,
        });
      case 'turn_aborted':
        return this.notice('turn interrupted', 'info');
      case 'error':
        return this.notice(str(p.message) || 'error', 'error');
    }
  }

  /** One app-server notification for this thread. */
  notification(method: string, params: unknown): void {
    if (!isObj(params)) return;
    const itemId = str(params.itemId);
    const delta = str(params.delta);
    switch (method) {
      case 'item/started':
      case 'item/completed': {
        if (!isObj(params.item)) return;
        const done = method === 'item/completed';
        const e = entryOfItem(params.item, done);
        // A start seen after the item completed (a replay) must not blank it.
        if (e && (done || !this.get(e.key))) this.put(e);
        return;
      }
      case 'item/agentMessage/delta':
        return this.append(itemId, delta, () => ({
          key: itemId,
          kind: 'agent',
          text: '',
          done: false,
        }));
      case 'item/reasoning/summaryTextDelta':
        return this.append(itemId, delta, () => ({
          key: itemId,
          kind: 'reasoning',
          text: '',
          done: false,
        }));
      case 'item/reasoning/summaryPartAdded':
        return this.append(itemId, '\n\n', () => ({
          key: itemId,
          kind: 'reasoning',
          text: '',
          done: false,
        }));
      case 'item/commandExecution/outputDelta':
        return this.append(itemId, delta, () => ({
          key: itemId,
          kind: 'command',
          command: '',
          cwd: '',
          output: '',
          exitCode: null,
          status: 'inProgress',
          done: false,
        }));
      case 'turn/started':
        this.state = {
          ...this.state,
          activeTurnId: isObj(params.turn) ? str(params.turn.id) || null : null,
          status: 'active',
        };
        return;
      case 'turn/completed': {
        this.state = { ...this.state, activeTurnId: null };
        const turn = isObj(params.turn) ? params.turn : {};
        if (turn.status === 'interrupted') this.notice('turn interrupted', 'info');
        if (turn.status === 'failed')
          this.notice(
            `turn failed: ${isObj(turn.error) ? str(turn.error.message) : 'unknown error'}`,
            'error',
          );
        return;
      }
      case 'thread/status/changed': {
        const s = isObj(params.status) ? params.status : {};
        this.state = {
          ...this.state,
          status: str(s.type),
          flags: Array.isArray(s.activeFlags) ? s.activeFlags.map(str) : [],
        };
        return;
      }
      case 'error': {
        const err = isObj(params.error) ? str(params.error.message) : '';
        if (params.willRetry !== true) this.notice(err || 'error', 'error');
        return;
      }
    }
  }

  approval(a: Approval): void {
    this.put({ key: `approval:${a.id}`, kind: 'approval', approval: a });
  }

  private append(key: string, delta: string, make: () => Entry): void {
    if (!key || this.isDone(key)) return;
    const e = this.get(key) ?? make();
    if (e.kind === 'agent' || e.kind === 'reasoning') this.put({ ...e, text: e.text + delta });
    else if (e.kind === 'command') this.put({ ...e, output: e.output + delta });
  }
}
