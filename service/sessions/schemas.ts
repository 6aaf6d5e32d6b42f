/**
 * JSON Schemas for every sessions/approvals request body and query, and the main responses.
 * The same objects validate requests (ajv) and make the OpenAPI document (openapi.ts), so the
 * two cannot drift. Field names follow codex-agent where it had them and the app-server
 * protocol (generate-ts 0.169.0) where we pass values through (sandbox, approvalPolicy).
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { HttpError } from '../http.js';
import { DECISIONS } from './approval-json.js';

const str = (maxLength = 4096) => ({ type: 'string', minLength: 1, maxLength }) as const;
const sandbox = {
  enum: ['read-only', 'workspace-write', 'danger-full-access'],
  description: 'app-server SandboxMode',
} as const;
const approvalPolicy = {
  enum: ['untrusted', 'on-request', 'never'],
  description: 'app-server AskForApproval (string forms)',
} as const;

const inputItem = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'text'],
      properties: { type: { const: 'text' }, text: { type: 'string', maxLength: 1_000_000 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'url'],
      properties: { type: { const: 'image' }, url: str(1_000_000) },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'path'],
      properties: { type: { const: 'localImage' }, path: str() },
    },
  ],
} as const;

/** A prompt: plain text, or app-server style input items. */
const input = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 1_000_000 },
    { type: 'array', minItems: 1, maxItems: 64, items: inputItem },
  ],
} as const;

const threadOverrides = {
  cwd: { ...str(), description: 'working directory (absolute)' },
  model: str(200),
  sandbox,
  approvalPolicy,
} as const;

export const bodySchemas = {
  StartSession: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...threadOverrides,
      name: str(200),
      input: { ...input, description: 'optional first turn, started right away' },
      images: { type: 'array', maxItems: 16, items: str() },
    },
  },
  ResumeSession: { type: 'object', additionalProperties: false, properties: threadOverrides },
  ForkSession: {
    type: 'object',
    additionalProperties: false,
    properties: { ...threadOverrides, lastTurnId: str(100) },
  },
  Empty: { type: 'object', additionalProperties: false, properties: {} },
  SetName: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: { name: str(200) },
  },
  StartTurn: {
    type: 'object',
    additionalProperties: false,
    required: ['input'],
    properties: {
      input,
      images: {
        type: 'array',
        maxItems: 16,
        items: str(),
        description: 'image URLs or local paths on the service host',
      },
      model: str(200),
      effort: { enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] },
    },
  },
  Steer: {
    type: 'object',
    additionalProperties: false,
    required: ['input'],
    properties: { input, expectedTurnId: str(100) },
  },
  Interrupt: { type: 'object', additionalProperties: false, properties: { turnId: str(100) } },
  AnswerApproval: {
    type: 'object',
    additionalProperties: false,
    required: ['decision'],
    properties: {
      decision: { enum: DECISIONS },
      answers: {
        type: 'object',
        maxProperties: 64,
        additionalProperties: {
          type: 'array',
          maxItems: 64,
          items: { type: 'string', maxLength: 10_000 },
        },
      },
      content: { description: 'MCP elicitation form content when accepting' },
    },
  },
} as const;

const bool = { enum: ['true', 'false', '1', '0'] } as const;

export const querySchemas = {
  ListSessions: {
    type: 'object',
    properties: {
      source: str(100),
      cwd: str(),
      branch: str(500),
      archived: { enum: ['true', 'false', 'all', '1', '0'], default: 'false' },
      sort: { enum: ['created', 'updated'], default: 'created' },
      order: { enum: ['asc', 'desc'], default: 'desc' },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
      cursor: str(1000),
    },
  },
  Search: {
    type: 'object',
    required: ['q'],
    properties: {
      q: str(1000),
      role: { enum: ['user', 'assistant', 'both'], default: 'both' },
      caseSensitive: { ...bool, default: 'false' },
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
      maxBytes: { type: 'integer', minimum: 1024, maximum: 1 << 30 },
      timeoutMs: { type: 'integer', minimum: 10, maximum: 10_000 },
    },
  },
  Events: {
    type: 'object',
    properties: {
      follow: { ...bool, default: 'false' },
      from: {
        type: 'integer',
        minimum: 0,
        description: 'byte offset in the rollout to start from',
      },
    },
  },
  Approvals: {
    type: 'object',
    properties: {
      status: {
        enum: ['pending', 'answered', 'expired', 'resolved', 'abandoned', 'all'],
        default: 'pending',
      },
      sessionId: str(100),
    },
  },
} as const;

const nullable = (s: object) => ({ oneOf: [s, { type: 'null' }] });

export const responseSchemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          hint: { type: 'string' },
        },
      },
    },
  },
  Session: {
    type: 'object',
    required: ['id', 'createdAt', 'updatedAt', 'archived'],
    properties: {
      id: { type: 'string' },
      rolloutPath: nullable({ type: 'string' }),
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      source: nullable({ type: 'string' }),
      originator: nullable({ type: 'string' }),
      modelProvider: nullable({ type: 'string' }),
      cwd: nullable({ type: 'string' }),
      cliVersion: nullable({ type: 'string' }),
      title: nullable({ type: 'string' }),
      name: nullable({ type: 'string' }),
      firstUserMessage: nullable({ type: 'string' }),
      archived: { type: 'boolean' },
      archivedAt: nullable({ type: 'string', format: 'date-time' }),
      git: nullable({
        type: 'object',
        properties: {
          sha: nullable({ type: 'string' }),
          branch: nullable({ type: 'string' }),
          originUrl: nullable({ type: 'string' }),
        },
      }),
      forkedFromId: nullable({ type: 'string' }),
      messageCount: { type: 'integer' },
      sizeBytes: { type: 'integer' },
      status: {
        type: 'string',
        description: 'live app-server status when known: notLoaded|idle|active|systemError',
      },
      activeTurnId: nullable({ type: 'string' }),
    },
  },
  SessionList: {
    type: 'object',
    required: ['sessions', 'total', 'offset', 'limit', 'nextCursor'],
    properties: {
      sessions: { type: 'array', items: { $ref: '#/components/schemas/Session' } },
      total: { type: 'integer' },
      offset: { type: 'integer' },
      limit: { type: 'integer' },
      nextCursor: nullable({ type: 'string' }),
    },
  },
  SearchResult: {
    type: 'object',
    properties: {
      query: { type: 'string' },
      results: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            sessionId: { type: 'string' },
            session: { $ref: '#/components/schemas/Session' },
            matches: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  role: { enum: ['user', 'assistant'] },
                  timestamp: nullable({ type: 'string' }),
                  offset: { type: 'integer' },
                  snippet: { type: 'string' },
                },
              },
            },
          },
        },
      },
      truncated: { type: 'boolean', description: 'a byte or time budget ended the scan early' },
      scannedBytes: { type: 'integer' },
      elapsedMs: { type: 'number' },
    },
  },
  Approval: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      method: { type: 'string' },
      kind: { type: 'string' },
      threadId: nullable({ type: 'string' }),
      turnId: nullable({ type: 'string' }),
      itemId: nullable({ type: 'string' }),
      params: {},
      status: { enum: ['pending', 'answered', 'expired', 'resolved', 'abandoned'] },
      createdAt: { type: 'string' },
      expiresAt: { type: 'string' },
      decision: { type: 'string' },
      changes: {
        description: 'fileChange: the files and diffs of the item the request names, when known',
        type: 'array',
        items: {
          type: 'object',
          properties: {
            path: { type: 'string' },
            kind: { type: 'object', properties: { type: { type: 'string' } } },
            diff: { type: 'string' },
          },
        },
      },
    },
  },
} as const;

export type BodyName = keyof typeof bodySchemas;
export type QueryName = keyof typeof querySchemas;

// ajv is loaded on the first request, not at service start-up (it costs ~60 ms before READY=1).
let ajvs: { body: Ajv; query: Ajv } | undefined;
function ajv(): { body: Ajv; query: Ajv } {
  if (!ajvs) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajvs = {
      body: new AjvClass({ allErrors: false, strict: false }),
      query: new AjvClass({
        allErrors: false,
        strict: false,
        coerceTypes: true,
        useDefaults: true,
      }),
    };
  }
  return ajvs;
}
const bodyValidators = new Map<string, ValidateFunction>();
const queryValidators = new Map<string, ValidateFunction>();

function describe(err: ErrorObject | undefined, where: string): HttpError {
  const at = err?.instancePath ? err.instancePath.replace(/^\//, '').replace(/\//g, '.') : where;
  const extra =
    err?.keyword === 'additionalProperties'
      ? ` (${String((err.params as { additionalProperty?: string }).additionalProperty)})`
      : '';
  const allowed =
    err?.keyword === 'enum'
      ? `: one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
      : '';
  return new HttpError(
    400,
    where === 'body' ? 'invalid_body' : 'invalid_query',
    `${at} ${err?.message ?? 'is invalid'}${extra}${allowed}`,
    'see /openapi.json',
    {
      schemaPath: err?.schemaPath ?? '',
      instancePath: err?.instancePath ?? '',
    },
  );
}

/** Validate a parsed JSON body; throws 400 naming the schema path that failed. */
export function validateBody<T>(name: BodyName, body: unknown): T {
  return validateBodyWith<T>(name, bodySchemas[name], body);
}

/** The same for a body schema of another module (`name` keys the compiled validator). */
export function validateBodyWith<T>(name: string, schema: object, body: unknown): T {
  let v = bodyValidators.get(name);
  if (!v) bodyValidators.set(name, (v = ajv().body.compile(schema)));
  if (!v(body)) throw describe(v.errors?.[0], 'body');
  return body as T;
}

/** Validate (and coerce, with defaults) a query object; unknown parameters are ignored. */
export function validateQuery<T>(name: QueryName, query: Record<string, unknown>): T {
  let v = queryValidators.get(name);
  if (!v) queryValidators.set(name, (v = ajv().query.compile(querySchemas[name])));
  // Repeated parameters arrive as arrays: take the last, like most servers.
  const q: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(query))
    q[k] = Array.isArray(val) ? val[val.length - 1] : val;
  if (!v(q)) throw describe(v.errors?.[0], 'query');
  return q as T;
}

export function truthy(v: unknown): boolean {
  return v === 'true' || v === '1' || v === true;
}
