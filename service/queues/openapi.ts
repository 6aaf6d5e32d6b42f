/** The queues/groups part of `/openapi.json`, from the schemas that validate the requests. */
import type { OpenApiPart } from '../openapi.js';
import { queueBodies, type QueueBodyName } from './schemas.js';

type Json = Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ content: { 'application/json': { schema } } });
const idParam = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
});
const error = (description: string) => ({ description, ...json(ref('Error')) });

/** [method, path, summary, body?, ok status] for every route (docs/queues.md has the details). */
const ROUTES: [string, string, string, QueueBodyName | null, string][] = [
  ['get', '/api/queues', 'List queues (without their prompts)', null, '200'],
  [
    'post',
    '/api/queues',
    'Create a queue in a new thread (cwd) or an existing session',
    'CreateQueue',
    '201',
  ],
  ['get', '/api/queues/{id}', 'One queue with its prompts', null, '200'],
  ['delete', '/api/queues/{id}', 'Delete a queue (409 while a turn of it runs)', null, '200'],
  [
    'get',
    '/api/queues/{id}/events',
    'Queue events (SSE): snapshot, then every change; Last-Event-ID resumes',
    null,
    '200',
  ],
  ['post', '/api/queues/{id}/prompts', 'Add a prompt at the end', 'PromptInput', '201'],
  ['patch', '/api/queues/{id}/prompts/{pid}', 'Edit a pending prompt', 'UpdatePrompt', '200'],
  ['delete', '/api/queues/{id}/prompts/{pid}', 'Remove a pending prompt', null, '200'],
  [
    'post',
    '/api/queues/{id}/prompts/{pid}/move',
    'Move a pending prompt (to: 1 = next)',
    'MovePrompt',
    '200',
  ],
  [
    'post',
    '/api/queues/{id}/prompts/{pid}/mode',
    'auto or manual (waits for a go-ahead)',
    'SetMode',
    '200',
  ],
  [
    'post',
    '/api/queues/{id}/start',
    'Start or continue; the go-ahead for a waiting manual prompt',
    'NoBody',
    '200',
  ],
  ['post', '/api/queues/{id}/pause', 'Pause after the current turn', 'NoBody', '200'],
  ['post', '/api/queues/{id}/resume', 'Resume a paused queue', 'NoBody', '200'],
  [
    'post',
    '/api/queues/{id}/stop',
    'Stop after the current turn, or now (interrupt it)',
    'StopQueue',
    '200',
  ],
  ['get', '/api/groups', 'List groups with their latest run', null, '200'],
  ['post', '/api/groups', 'Create a group of sessions', 'CreateGroup', '201'],
  ['get', '/api/groups/{id}', 'One group with its latest run and progress', null, '200'],
  ['delete', '/api/groups/{id}', 'Delete a group (409 while turns of it run)', null, '200'],
  ['post', '/api/groups/{id}/sessions', 'Add a session', 'AddSession', '200'],
  [
    'delete',
    '/api/groups/{id}/sessions/{sid}',
    'Remove a session (its pending turn is cancelled)',
    null,
    '200',
  ],
  [
    'post',
    '/api/groups/{id}/run',
    'Run one prompt on every session, maxConcurrent at a time',
    'RunGroup',
    '202',
  ],
  ['post', '/api/groups/{id}/pause', 'No new turns start; running ones finish', 'NoBody', '200'],
  ['post', '/api/groups/{id}/resume', 'Resume a paused group', 'NoBody', '200'],
  [
    'get',
    '/api/groups/{id}/events',
    'Group events (SSE): snapshot, then every change; Last-Event-ID resumes',
    null,
    '200',
  ],
];

export function workOpenApi(): OpenApiPart {
  const paths: Record<string, Json> = {};
  for (const [method, path, summary, body, status] of ROUTES) {
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => idParam(m[1] as string));
    const sse = path.endsWith('/events');
    (paths[path] ??= {})[method] = {
      summary,
      security: [{ bearer: [] }],
      parameters: params,
      ...(body ? { requestBody: { required: true, ...json(ref(`queues.${body}`)) } } : {}),
      responses: {
        [status]: sse
          ? {
              description: 'text/event-stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            }
          : { description: 'ok', ...json({ type: 'object' }) },
        '400': error('invalid body (error.schemaPath names the failing rule) or cwd'),
        '401': error('missing or wrong bearer token'),
        '404': error('unknown queue, prompt, group or session'),
        '409': error('not in a state that allows it (see error.code)'),
      },
    };
  }
  const schemas = Object.fromEntries(
    Object.entries(queueBodies).map(([k, v]) => [`queues.${k}`, v]),
  );
  return { paths, components: { schemas } };
}
