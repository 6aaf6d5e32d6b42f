/**
 * The API's group and run objects (docs/queues.md) as TypeScript: the service builds them
 * (./view.ts), the CLI (src/cli/queue-api.ts) and the dashboard (ui/src/pages/groups.tsx) read
 * them. Import-free but for the store's enums and the turn result: the dashboard's browser
 * build type-checks it too.
 */
import type { TurnResultJson } from '../work/turn-records.js';
import type { GroupRunStatus, PromptStatus } from '../store/enums.js';

export interface RunSessionJson {
  sessionId: string;
  status: PromptStatus;
  turnId: string | null;
  attempts: number;
  result: TurnResultJson | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Which sessions are where; `failed` holds interrupted and cancelled ones too. */
export interface RunProgressJson {
  running: string[];
  completed: string[];
  failed: string[];
  pending: string[];
}

export interface GroupRunJson {
  id: string;
  prompt: string;
  images: string[];
  maxConcurrent: number;
  model: string | null;
  sandbox: string | null;
  approvalPolicy: string | null;
  status: GroupRunStatus;
  createdAt: string;
  finishedAt: string | null;
  sessions: RunSessionJson[];
  progress: RunProgressJson;
}

export interface GroupJson {
  id: string;
  name: string;
  description: string | null;
  paused: boolean;
  sessionIds: string[];
  createdAt: string;
  updatedAt: string;
  /** The latest run, if any. */
  run: GroupRunJson | null;
}

/** `/status`'s `groups`: every group, and those whose latest run is running. */
export interface GroupCountsJson {
  total: number;
  running: number;
}
