/**
 * The API's session objects and the list and search answers that carry them
 * (responseSchemas.Session, SessionList, SearchResult in schemas.ts), as TypeScript: the service
 * builds them (view.ts, routes.ts), the dashboard reads them. No imports: the dashboard's
 * browser build type-checks this file too.
 */
export interface SessionJson {
  id: string;
  rolloutPath: string | null;
  createdAt: string;
  updatedAt: string;
  source: string | null;
  originator: string | null;
  modelProvider: string | null;
  cwd: string | null;
  cliVersion: string | null;
  title: string | null;
  name: string | null;
  firstUserMessage: string | null;
  archived: boolean;
  archivedAt: string | null;
  git: { sha: string | null; branch: string | null; originUrl: string | null } | null;
  forkedFromId: string | null;
  messageCount: number;
  sizeBytes: number;
  status?: string;
  activeTurnId?: string | null;
}

/** `GET /api/sessions`. */
export interface SessionListJson {
  sessions: SessionJson[];
  total: number;
  offset: number;
  limit: number;
  nextCursor: string | null;
}

/** `GET /api/sessions/search`: each hit with its session (absent when no longer indexed). */
export interface SessionSearchJson {
  query: string;
  results: {
    sessionId: string;
    session?: SessionJson;
    matches: {
      role: 'user' | 'assistant';
      timestamp: string | null;
      offset: number;
      snippet: string;
    }[];
  }[];
  truncated: boolean;
  scannedBytes: number;
  elapsedMs: number;
}

/** A turn as the start answers carry it (`turn/start`'s turn: its id and status). */
export interface TurnJson {
  id: string;
  status: string;
}

/** `POST /api/sessions` → 201: the session, and its first turn when a prompt was given. */
export interface SessionStartedJson {
  session: SessionJson;
  model: string;
  turn?: TurnJson;
  eventsUrl: string;
}

/** `POST /api/sessions/:id/turns` → 202. */
export interface TurnStartedJson {
  sessionId: string;
  turnId: string;
  turn: TurnJson;
  eventsUrl: string;
}
