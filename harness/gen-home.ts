/**
 * Generates a CODEX_HOME full of rollout files modelled on the ones the real app-server 0.169.0
 * writes (line types, key order, sizes: a ~21 KB session_meta with base instructions, a ~7 KB
 * developer message, world_state, turn_context, item_completed events, function calls with
 * output, token records), plus the older format (event_msg user_message/agent_message, no
 * ordinal), archived sessions, thread names, unknown line types and malformed lines.
 *
 * Deterministic (seeded), and it returns a manifest so tests can compute expected answers.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface GenSession {
  id: string;
  file: string;
  createdAt: number;
  cwd: string | null;
  branch: string | null;
  source: string | null;
  archived: boolean;
  name: string | null;
  oldFormat: boolean;
  /** The meta line is malformed: only the file name identifies the session. */
  brokenMeta: boolean;
  userTexts: string[];
  assistantTexts: string[];
  bytes: number;
}

export interface GenOptions {
  count: number;
  seed?: number;
  /** Scale of the big fixed lines (base instructions, developer message); 1 = real size. */
  bulk?: number;
  /** Newest session time (ms); sessions go back about a year from it. */
  now?: number;
}

export interface GenResult {
  home: string;
  sessions: GenSession[];
  bytes: number;
  malformedLines: number;
}

export const CWDS = [
  '/home/dev/api',
  '/home/dev/web',
  '/home/dev/cli',
  '/srv/infra',
  '/home/dev/ml',
  '/tmp/scratch',
  '/home/dev/docs',
  '/home/dev/mobile',
];
const BRANCHES = ['main', 'main', 'dev', 'feature/login', 'fix/crash', null];
const WORDS = (
  'refactor the parser add tests fix flaky build update docs migrate database optimize query handle errors ' +
  'improve logging rename module extract function review diff explain stack trace deploy service bump version'
).split(' ');

/** mulberry32: a small seedable random, so generated homes and test schedules can be rerun. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7-shaped id from a time and randomness. */
export function uuidV7(ms: number, rnd: () => number): string {
  const hex = (n: number, w: number) => Math.floor(n).toString(16).padStart(w, '0').slice(-w);
  const t = ms.toString(16).padStart(12, '0');
  const r = () => hex(rnd() * 0x10000, 4);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${hex(rnd() * 0x1000, 3)}-${(8 + Math.floor(rnd() * 4)).toString(16)}${hex(rnd() * 0x1000, 3)}-${r()}${r()}${r()}`;
}

function fileStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/:/g, '-');
}

export function generateHome(home: string, opts: GenOptions): GenResult {
  const rnd = mulberry32(opts.seed ?? 42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const bulk = opts.bulk ?? 1;
  const baseInstructions =
    'You are a coding agent running in the Codex CLI, a terminal-based coding assistant. '.repeat(
      Math.round(250 * bulk),
    );
  const developerText =
    '<permissions instructions>Filesystem sandboxing defines which files can be read or written. '.repeat(
      Math.round(75 * bulk),
    );
  const now = opts.now ?? Date.parse('2026-06-01T12:00:00Z');
  const span = 365 * 86_400_000;
  fs.mkdirSync(path.join(home, 'sessions'), { recursive: true });
  fs.mkdirSync(path.join(home, 'archived_sessions'), { recursive: true });
  const sessions: GenSession[] = [];
  const names: string[] = [];
  let total = 0;
  let malformed = 0;
  const madeDirs = new Set<string>();
  for (let i = 0; i < opts.count; i++) {
    const createdAt = now - span + Math.floor((span * i) / opts.count) + Math.floor(rnd() * 1000);
    const id = uuidV7(createdAt, rnd);
    const oldFormat = rnd() < 0.2;
    const brokenMeta = rnd() < 0.005;
    const archived = rnd() < 0.05;
    const srcRoll = rnd();
    const source =
      srcRoll < 0.6 ? 'cli' : srcRoll < 0.85 ? 'vscode' : srcRoll < 0.95 ? 'exec' : 'subagent';
    const cwd = pick(CWDS);
    const branch = pick(BRANCHES);
    const d = new Date(createdAt).toISOString();
    const dir = archived
      ? path.join(home, 'archived_sessions')
      : path.join(home, 'sessions', d.slice(0, 4), d.slice(5, 7), d.slice(8, 10));
    if (!madeDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    const file = path.join(dir, `rollout-${fileStamp(createdAt)}-${id}.jsonl`);
    const s: GenSession = {
      id,
      file,
      createdAt,
      cwd: brokenMeta ? null : cwd,
      branch: brokenMeta ? null : branch,
      source: brokenMeta ? null : source,
      archived,
      name: null,
      oldFormat,
      brokenMeta,
      userTexts: [],
      assistantTexts: [],
      bytes: 0,
    };
    const lines: string[] = [];
    let ord = 0;
    let t = createdAt;
    const line = (type: string, payload: unknown) => {
      t += Math.floor(rnd() * 3000);
      const ts = new Date(t).toISOString();
      lines.push(
        oldFormat
          ? JSON.stringify({ timestamp: ts, type, payload })
          : JSON.stringify({ timestamp: ts, ordinal: ord++, type, payload }),
      );
    };
    line('session_meta', {
      session_id: id,
      id,
      timestamp: d,
      cwd,
      originator: source === 'vscode' ? 'codex_vscode' : 'codex_cli_rs',
      cli_version: '0.169.0',
      source: source === 'subagent' ? { subagent: 'review' } : source,
      model_provider: 'openai',
      base_instructions: { text: baseInstructions },
      history_mode: 'paginated',
      git: branch
        ? {
            commit_hash: id.replace(/-/g, '').slice(0, 40).padEnd(40, '0'),
            branch,
            repository_url: 'git@example.com:acme/x.git',
          }
        : undefined,
    });
    if (brokenMeta) lines[0] = (lines[0] as string).slice(0, 500);
    const turns = 1 + Math.floor(rnd() * rnd() * 8);
    for (let k = 0; k < turns; k++) {
      const turnId = uuidV7(t, rnd);
      line('event_msg', { type: 'task_started', turn_id: turnId, model_context_window: 272000 });
      if (k === 0) {
        line('response_item', {
          type: 'message',
          role: 'developer',
          content: [{ type: 'input_text', text: developerText }],
        });
        line('response_item', {
          type: 'message',
          role: 'user',
          content: [
            {
              type: 'input_text',
              text: `<environment_context>\n  <cwd>${cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>`,
            },
          ],
        });
        if (!oldFormat)
          line('world_state', {
            full: true,
            state: {
              agents_md: {},
              environments: { local: { cwd, status: 'available', shell: 'bash' } },
              blob: 'x'.repeat(2500),
            },
          });
      }
      line('turn_context', {
        turn_id: turnId,
        cwd,
        approval_policy: 'on-request',
        sandbox_policy: { type: 'workspace-write' },
        model: 'gpt-5-codex',
        summary: 'auto',
        pad: 'y'.repeat(400),
      });
      let user = `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)} in ${path.basename(cwd)} (session ${i} turn ${k})`;
      if (i % 100 === 7 && k === 0) user += ` zebra${Math.floor(i / 100)}`;
      if (i % 50 === 3) user += ' Needle-Upper';
      s.userTexts.push(user);
      line('response_item', {
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: user }],
      });
      if (oldFormat) line('event_msg', { type: 'user_message', message: user, images: [] });
      else
        line('event_msg', {
          type: 'item_completed',
          thread_id: id,
          turn_id: turnId,
          item: {
            type: 'UserMessage',
            id: uuidV7(t, rnd),
            content: [{ type: 'text', text: user, text_elements: [] }],
          },
        });
      const tools = Math.floor(rnd() * rnd() * 5);
      for (let c = 0; c < tools; c++) {
        const call = `call_${i}_${k}_${c}`;
        line('response_item', {
          type: 'function_call',
          name: 'exec_command',
          arguments: JSON.stringify({ cmd: `rg ${pick(WORDS)}` }),
          call_id: call,
        });
        line('response_item', {
          type: 'function_call_output',
          call_id: call,
          output: 'src/file.ts:12: match\n'.repeat(10 + Math.floor(rnd() * 300)),
        });
        if (!oldFormat)
          line('event_msg', {
            type: 'item_completed',
            thread_id: id,
            turn_id: turnId,
            item: {
              type: 'CommandExecution',
              id: call,
              command: ['/bin/bash', '-lc', 'rg x'],
              aggregated_output: 'ok',
            },
          });
      }
      if (rnd() < 0.01) {
        lines.push(
          '{"timestamp":"2026-01-01T00:00:00Z","type":"event_msg","payload":{"type":"agent_mess',
        ); // torn write
        malformed++;
      }
      if (rnd() < 0.01) line('future_line_type', { something: 'new' });
      let reply = `Done: ${pick(WORDS)} ${pick(WORDS)}. ${'Details follow. '.repeat(Math.floor(rnd() * 20))}`;
      if (i % 40 === 11) reply += ' quokka';
      s.assistantTexts.push(reply);
      if (oldFormat) line('event_msg', { type: 'agent_message', message: reply });
      else
        line('event_msg', {
          type: 'item_completed',
          thread_id: id,
          turn_id: turnId,
          item: {
            type: 'AgentMessage',
            id: `msg_${i}_${k}`,
            content: [{ type: 'Text', text: reply }],
          },
        });
      line('response_item', {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: reply }],
      });
      if (!oldFormat)
        line('token_usage_record', {
          thread_id: id,
          turn_id: turnId,
          usage: { input_tokens: 1000, output_tokens: 50, total_tokens: 1050 },
        });
      line('event_msg', {
        type: 'token_count',
        info: {
          total_token_usage: {
            input_tokens: 1000 * (k + 1),
            output_tokens: 50,
            total_tokens: 1050,
          },
        },
      });
      line('event_msg', { type: 'task_complete', turn_id: turnId, last_agent_message: reply });
    }
    if (rnd() < 0.003) lines.push('not json at all');
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(file, text);
    s.bytes = Buffer.byteLength(text);
    total += s.bytes;
    if (rnd() < 0.03) {
      s.name = `Named session ${i}`;
      names.push(
        JSON.stringify({ id, thread_name: s.name, updated_at: new Date(t).toISOString() }),
      );
    }
    sessions.push(s);
  }
  if (names.length)
    fs.writeFileSync(path.join(home, 'session_index.jsonl'), names.join('\n') + '\n');
  return { home, sessions, bytes: total, malformedLines: malformed };
}

/** Append a turn (old or new format) to a generated session's file; returns the texts added. */
export function appendTurn(s: GenSession, user: string, reply: string, at = Date.now()): void {
  const ts = new Date(at).toISOString();
  const mk = (payload: unknown) => JSON.stringify({ timestamp: ts, type: 'event_msg', payload });
  const lines = s.oldFormat
    ? [mk({ type: 'user_message', message: user }), mk({ type: 'agent_message', message: reply })]
    : [
        mk({
          type: 'item_completed',
          thread_id: s.id,
          item: { type: 'UserMessage', content: [{ type: 'text', text: user }] },
        }),
        mk({
          type: 'item_completed',
          thread_id: s.id,
          item: { type: 'AgentMessage', content: [{ type: 'Text', text: reply }] },
        }),
      ];
  fs.appendFileSync(s.file, lines.join('\n') + '\n');
  s.userTexts.push(user);
  s.assistantTexts.push(reply);
}
