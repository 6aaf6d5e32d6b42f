/**
 * The sessions/approvals part of `/openapi.json`, generated from the same schemas that
 * validate requests (schemas.ts).
 */
import {
  bodySchemas,
  querySchemas,
  responseSchemas,
  type BodyName,
  type QueryName,
} from './schemas.js';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ content: { 'application/json': { schema } } });
const errors = {
  '400': {
    description: 'invalid id, query or body (error.schemaPath names the failing rule)',
    ...json(ref('Error')),
  },
  '401': { description: 'missing or wrong bearer token', ...json(ref('Error')) },
  '404': { description: 'unknown session or approval', ...json(ref('Error')) },
  '503': { description: 'the app-server is not ready', ...json(ref('Error')) },
};
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};

function queryParams(name: QueryName): Json[] {
  const s = querySchemas[name] as {
    properties: Record<string, Json>;
    required?: readonly string[];
  };
  return Object.entries(s.properties).map(([k, schema]) => ({
    name: k,
    in: 'query',
    required: s.required?.includes(k) ?? false,
    schema,
  }));
}

function op(
  summary: string,
  o: {
    query?: QueryName;
    body?: BodyName;
    id?: boolean;
    ok?: Json;
    status?: string;
    sse?: boolean;
  },
): Json {
  return {
    summary,
    security: [{ bearer: [] }],
    parameters: [...(o.id ? [idParam] : []), ...(o.query ? queryParams(o.query) : [])],
    ...(o.body ? { requestBody: { required: true, ...json(ref(o.body)) } } : {}),
    responses: {
      [o.status ?? '200']: o.sse
        ? {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          }
        : { description: 'ok', ...json(o.ok ?? { type: 'object' }) },
      ...errors,
    },
  };
}

const sessionOut = { type: 'object', properties: { session: ref('Session') } };

/** A search operation: its 503 is also the refusal of a full search queue. */
function searchOp(summary: string, o: Parameters<typeof op>[1]): Json {
  const base = op(summary, o);
  return {
    ...base,
    responses: {
      ...(base.responses as Json),
      '503': {
        description:
          'search_busy: every search worker is busy and the queue is full (retry after Retry-After seconds); or the app-server is not ready',
        headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
        ...json(ref('Error')),
      },
    },
  };
}

export function sessionsOpenApi(): { paths: Json; components: { schemas: Json } } {
  return {
    paths: {
      '/api/sessions': {
        get: op('List sessions (index of rollout files, merged with live app-server state)', {
          query: 'ListSessions',
          ok: ref('SessionList'),
        }),
        post: op('Start a session (thread/start), optionally with a first turn', {
          body: 'StartSession',
          status: '201',
          ok: sessionOut,
        }),
      },
      '/api/sessions/search': {
        get: searchOp('Full-text search over user/assistant messages (byte and time bounded)', {
          query: 'Search',
          ok: ref('SearchResult'),
        }),
      },
      '/api/sessions/{id}': { get: op('One session', { id: true, ok: ref('Session') }) },
      '/api/sessions/{id}/search': {
        get: searchOp('Search inside one session', {
          id: true,
          query: 'Search',
          ok: ref('SearchResult'),
        }),
      },
      '/api/sessions/{id}/events': {
        get: op('Rollout lines, then live events (follow=true); resumable with Last-Event-ID', {
          id: true,
          query: 'Events',
          sse: true,
        }),
      },
      '/api/sessions/{id}/resume': {
        post: op('Resume (thread/resume)', { id: true, body: 'ResumeSession', ok: sessionOut }),
      },
      '/api/sessions/{id}/fork': {
        post: op('Fork (thread/fork)', {
          id: true,
          body: 'ForkSession',
          status: '201',
          ok: sessionOut,
        }),
      },
      '/api/sessions/{id}/archive': {
        post: op('Archive (thread/archive)', { id: true, body: 'Empty', ok: sessionOut }),
      },
      '/api/sessions/{id}/unarchive': {
        post: op('Unarchive (thread/unarchive)', { id: true, body: 'Empty', ok: sessionOut }),
      },
      '/api/sessions/{id}/name': {
        post: op('Name (thread/name/set)', { id: true, body: 'SetName', ok: sessionOut }),
      },
      '/api/sessions/{id}/turns': {
        post: op('Start a turn; follow it on the events stream', {
          id: true,
          body: 'StartTurn',
          status: '202',
        }),
      },
      '/api/sessions/{id}/steer': {
        post: op('Add input to the running turn (turn/steer)', { id: true, body: 'Steer' }),
      },
      '/api/sessions/{id}/interrupt': {
        post: op('Interrupt the running turn (turn/interrupt)', { id: true, body: 'Interrupt' }),
      },
      '/api/approvals': {
        get: op('Approvals held for threads codex-sm started', {
          query: 'Approvals',
          ok: {
            type: 'object',
            properties: { approvals: { type: 'array', items: ref('Approval') } },
          },
        }),
      },
      '/api/approvals/events': {
        get: op(
          'Approvals as they are held and answered (SSE): snapshot of the pending ones, then each change; Last-Event-ID resumes',
          { sse: true },
        ),
      },
      '/api/approvals/{id}': {
        get: op('One approval', { id: true, ok: ref('Approval') }),
        post: op('Answer an approval (409 when already answered)', {
          id: true,
          body: 'AnswerApproval',
          ok: ref('Approval'),
        }),
      },
    },
    components: { schemas: { ...bodySchemas, ...responseSchemas } as unknown as Json },
  };
}
