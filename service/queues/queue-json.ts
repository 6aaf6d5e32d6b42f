/**
 * The API's queue and prompt objects (docs/queues.md) as TypeScript: the service builds them
 * (./view.ts), the CLI (src/cli/queue-api.ts) and the dashboard (ui/src/pages/queues.tsx) read
 * them. Import-free but for the store's enums and the turn result (service/work/turn-records.ts,
 * itself import-free): the dashboard's browser build type-checks it too.
 */
import type { PromptMode, PromptStatus, QueueStatus } from '../store/enums.js';
import type { TurnResultJson } from '../work/turn-records.js';

export interface PromptJson {
  id: string;
  position: number;
  text: string;
  images: string[];
  mode: PromptMode;
  status: PromptStatus;
  turnId: string | null;
  attempts: number;
  result: TurnResultJson | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * A queue without its prompts (`GET /api/queues`). `approvals`: those it waits on, as the
 * approvals API gives them; A is the reader's type for one (the service's own Approval, the
 * dashboard's, or only the id the CLI reads).
 */
export interface QueueSummaryJson<A = { id: string }> {
  id: string;
  name: string;
  cwd: string | null;
  /** The queue's thread, once it has one. */
  sessionId: string | null;
  status: QueueStatus;
  model: string | null;
  sandbox: string | null;
  approvalPolicy: string | null;
  maxRetries: number;
  createdAt: string;
  updatedAt: string;
  waitingFor: 'go-ahead' | 'approval' | null;
  approvals: A[];
  counts: Record<PromptStatus, number>;
}

/** One queue (`GET /api/queues/:id` and every answer that changes one). */
export interface QueueJson<A = { id: string }> extends QueueSummaryJson<A> {
  prompts: PromptJson[];
}

/** `/status`'s `queues`: how many queues are in each status, and in all. */
export type QueueCountsJson = Record<QueueStatus, number> & { total: number };
