/**
 * Approvals from anywhere: server-initiated requests that wait for a person (command and file
 * change approvals, permission grants, questions, MCP elicitations) arriving on codex-sm's own
 * control connection — i.e. for threads codex-sm started or resumed — are held here until
 * someone answers over HTTP, or the configured timeout answers with the default decision.
 *
 * Shapes are from `codex app-server generate-ts` (0.169.0): v2 decisions are
 * accept|acceptForSession|decline|cancel; permissions want {permissions, scope}; questions want
 * {answers}; elicitations want {action, content, _meta}; the legacy v1 methods want ReviewDecision.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RequestId } from '../protocol.js';
import { APPROVAL_REQUEST_METHODS } from '../protocol.js';
import type { ServerRequest } from '../rpc.js';
import type {
  Approval,
  ApprovalKind,
  ApprovalStatus,
  Decision,
  FileUpdateChange,
} from './approval-json.js';

export interface AnswerInput {
  decision: Decision;
  /** requestUserInput: question id → answers. */
  answers?: Record<string, string[]>;
  /** elicitation: the form content when accepting. */
  content?: unknown;
}

const KIND: Record<string, ApprovalKind> = {
  'item/commandExecution/requestApproval': 'commandExecution',
  'item/fileChange/requestApproval': 'fileChange',
  'item/permissions/requestApproval': 'permissions',
  'item/tool/requestUserInput': 'userInput',
  'mcpServer/elicitation/request': 'elicitation',
  execCommandApproval: 'legacyExec',
  applyPatchApproval: 'legacyPatch',
};

export function isApprovalMethod(method: string): boolean {
  return (APPROVAL_REQUEST_METHODS as readonly string[]).includes(method);
}

/** The JSON-RPC result the app-server expects for a decision (pure). */
export function approvalResult(kind: ApprovalKind, params: unknown, a: AnswerInput): unknown {
  const p = (params ?? {}) as Record<string, unknown>;
  const yes = a.decision === 'accept' || a.decision === 'acceptForSession';
  switch (kind) {
    case 'commandExecution':
    case 'fileChange':
      return { decision: a.decision };
    case 'permissions': {
      // Accepting grants what was asked for; declining grants nothing.
      const asked = (p.permissions ?? {}) as Record<string, unknown>;
      const granted: Record<string, unknown> = {};
      if (yes && asked.network) granted.network = asked.network;
      if (yes && asked.fileSystem) granted.fileSystem = asked.fileSystem;
      return {
        permissions: granted,
        scope: a.decision === 'acceptForSession' ? 'session' : 'turn',
      };
    }
    case 'userInput': {
      const answers: Record<string, { answers: string[] }> = {};
      if (yes) for (const [q, v] of Object.entries(a.answers ?? {})) answers[q] = { answers: v };
      return { answers };
    }
    case 'elicitation':
      return {
        action: yes ? 'accept' : a.decision === 'cancel' ? 'cancel' : 'decline',
        content: yes ? (a.content ?? null) : null,
        _meta: null,
      };
    case 'legacyExec':
    case 'legacyPatch':
      return {
        decision:
          a.decision === 'accept'
            ? 'approved'
            : a.decision === 'acceptForSession'
              ? 'approved_for_session'
              : a.decision === 'cancel'
                ? 'abort'
                : { denied: { rejection: 'declined through codex-sm' } },
      };
  }
}

export interface ApprovalEvents {
  /** A new pending approval, or a change of status. */
  approval: [approval: Approval];
}

export interface Responder {
  respond(id: RequestId, result: unknown): void;
}

export interface ApprovalSettings {
  timeoutMs: number;
  /** The answer given when nobody answers in time. */
  defaultDecision: Decision;
}

export class ApprovalError extends Error {
  constructor(
    readonly code: 'not_found' | 'already_answered',
    message: string,
  ) {
    super(message);
  }
}

export class Approvals extends EventEmitter<ApprovalEvents> {
  private readonly items = new Map<string, Approval>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly byRequest = new Map<string, string>();

  constructor(
    private readonly opts: {
      /** Read at each hold, so a config reload applies to the next approval. */
      settings: () => ApprovalSettings;
      keepAnswered?: number;
    },
  ) {
    super();
  }

  /** Hold a server request; false when it is not one of ours to hold. */
  hold(
    req: ServerRequest,
    responder: Responder,
    extra: { changes?: FileUpdateChange[] } = {},
  ): boolean {
    const kind = KIND[req.method];
    if (!kind) return false;
    const p = (req.params ?? {}) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === 'string' ? v : null);
    const now = Date.now();
    // Fixed when held: a pending approval keeps the deadline it was announced with.
    const { timeoutMs, defaultDecision } = this.opts.settings();
    const a: Approval = {
      id: crypto.randomUUID(),
      requestId: req.id,
      method: req.method,
      kind,
      threadId: s(p.threadId) ?? s(p.conversationId),
      turnId: s(p.turnId),
      itemId: s(p.itemId) ?? s(p.callId),
      params: req.params,
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + timeoutMs).toISOString(),
      ...(extra.changes ? { changes: extra.changes } : {}),
    };
    this.items.set(a.id, a);
    this.byRequest.set(String(req.id), a.id);
    const t = setTimeout(() => {
      if (a.status !== 'pending') return;
      this.finish(a, responder, { decision: defaultDecision }, 'expired', 'timeout');
    }, timeoutMs);
    t.unref();
    this.timers.set(a.id, t);
    this.emit('approval', a);
    this.trim();
    return true;
  }

  answer(id: string, input: AnswerInput, responder: Responder): Approval {
    const a = this.items.get(id);
    if (!a) throw new ApprovalError('not_found', `no approval ${id}`);
    if (a.status !== 'pending')
      throw new ApprovalError(
        'already_answered',
        `approval ${id} is already ${a.status}${a.decision ? ` (${a.decision})` : ''}`,
      );
    this.finish(a, responder, input, 'answered', 'http');
    return a;
  }

  /** `serverRequest/resolved`: the server no longer waits (turn interrupted, answered elsewhere). */
  resolved(requestId: RequestId): void {
    const id = this.byRequest.get(String(requestId));
    const a = id ? this.items.get(id) : undefined;
    if (!a || a.status !== 'pending') return;
    this.clearTimer(a.id);
    a.status = 'resolved';
    this.emit('approval', a);
  }

  /** The control connection went away: nobody can answer these any more. */
  abandonAll(): void {
    for (const a of this.items.values()) {
      if (a.status !== 'pending') continue;
      this.clearTimer(a.id);
      a.status = 'abandoned';
      this.emit('approval', a);
    }
    this.byRequest.clear(); // request ids restart with the next app-server
  }

  get(id: string): Approval | undefined {
    return this.items.get(id);
  }

  list(filter: { status?: ApprovalStatus | 'all'; threadId?: string } = {}): Approval[] {
    const status = filter.status ?? 'pending';
    return [...this.items.values()].filter(
      (a) =>
        (status === 'all' || a.status === status) &&
        (!filter.threadId || a.threadId === filter.threadId),
    );
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private finish(
    a: Approval,
    responder: Responder,
    input: AnswerInput,
    status: ApprovalStatus,
    by: 'http' | 'timeout',
  ): void {
    this.clearTimer(a.id);
    a.status = status;
    a.decision = input.decision;
    a.answeredAt = new Date().toISOString();
    a.answeredBy = by;
    responder.respond(a.requestId, approvalResult(a.kind, a.params, input));
    this.emit('approval', a);
  }

  private clearTimer(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Keep a bounded history of answered ones (so a second answer gets 409, not 404). */
  private trim(): void {
    const keep = this.opts.keepAnswered ?? 500;
    const done = [...this.items.values()].filter((a) => a.status !== 'pending');
    for (const a of done.slice(0, Math.max(0, done.length - keep))) this.items.delete(a.id);
  }
}
