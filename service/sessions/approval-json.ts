/**
 * An approval as the service holds it and serves it (`GET /api/approvals`, `/ws`, the SSE
 * feeds): types and constants only, with no Node import, so the dashboard (ui/) type-checks
 * against these instead of keeping copies of its own.
 */
import type { RequestId } from '../protocol.js';

export type Decision = 'accept' | 'acceptForSession' | 'decline' | 'cancel';
export const DECISIONS: readonly Decision[] = ['accept', 'acceptForSession', 'decline', 'cancel'];

export type ApprovalKind =
  | 'commandExecution'
  | 'fileChange'
  | 'permissions'
  | 'userInput'
  | 'elicitation'
  | 'legacyExec'
  | 'legacyPatch';
export type ApprovalStatus = 'pending' | 'answered' | 'expired' | 'resolved' | 'abandoned';

/** One file of a `fileChange` item (generate-ts 0.169.0: FileUpdateChange). */
export interface FileUpdateChange {
  path: string;
  kind: { type: string; move_path?: string | null };
  diff: string;
}

export interface Approval {
  id: string;
  requestId: RequestId;
  method: string;
  kind: ApprovalKind;
  threadId: string | null;
  turnId: string | null;
  itemId: string | null;
  /** What a person needs to decide: command, cwd, reason, questions... (the request's params). */
  params: unknown;
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  /** fileChange: the files and their diffs (from the item the request names), when known. */
  changes?: FileUpdateChange[];
  decision?: Decision;
  answeredAt?: string;
  answeredBy?: 'http' | 'timeout';
}
