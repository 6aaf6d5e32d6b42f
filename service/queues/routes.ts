/**
 * HTTP routes of queues and groups (docs/queues.md): validate the body against its schema, hand
 * the command to the engine (which commits, publishes and answers), or stream events. The
 * codex-agent spellings (`/commands/` for `/prompts/`, `{prompt}` for `{text}`, `/run` for
 * `/start`) are accepted beside codex-sm's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { checkPromptImages } from '../sessions/images.js';
import { HttpError, readJsonBody } from '../http.js';
import { validateBodyWith } from '../sessions/schemas.js';
import type { NewPrompt, NewQueue } from '../store/queues.js';
import type { GroupEngine } from '../groups/engine.js';
import { streamEvents, type EventLog } from '../work/events.js';
import type { QueueEngine } from './engine.js';
import { queueBodies, type QueueBodyName } from './schemas.js';

export interface WorkRouteDeps {
  queues: QueueEngine;
  groups: GroupEngine;
  queueEvents: EventLog;
  groupEvents: EventLog;
  /** Open SSE streams, ended at shutdown. */
  open: Set<() => void>;
  bodyLimitBytes: number;
  /** images.allowedDirs, read per request (live on reload). */
  imageDirs(): readonly string[];
}

type Ctx = RouterContext;

interface PromptBody {
  text?: string;
  prompt?: string;
  images?: string[];
  mode?: 'auto' | 'manual';
}

async function body<T>(ctx: Ctx, name: QueueBodyName, limit: number): Promise<T> {
  return validateBodyWith<T>(`queues.${name}`, queueBodies[name], await readJsonBody(ctx, limit));
}

const param = (ctx: Ctx, name: string): string => (ctx.params[name] ?? '').toLowerCase();

/** `{text}` or `{prompt}` (the schema lets exactly one through) → the store's NewPrompt. */
function newPrompt(b: PromptBody | string): NewPrompt {
  if (typeof b === 'string') return { text: b };
  return { text: (b.text ?? b.prompt) as string, images: b.images, mode: b.mode };
}

/** An absolute path to an existing directory, or 400: a queue would fail at its first turn. */
function checkCwd(cwd: string): string {
  let ok = false;
  try {
    ok = path.isAbsolute(cwd) && fs.statSync(cwd).isDirectory();
  } catch {
    /* missing */
  }
  if (!ok)
    throw new HttpError(
      400,
      'invalid_cwd',
      `cwd ${JSON.stringify(cwd)} is not an existing absolute directory`,
      'pass an absolute path on the codex-sm host',
    );
  return cwd;
}

export function registerWorkRoutes(router: Router, d: WorkRouteDeps): void {
  const limit = d.bodyLimitBytes;
  const q = d.queues;
  // A queue's images may come from its cwd; one queued into a session only from images.allowedDirs.
  const imageRoots = (cwd: string | null | undefined) => [cwd, ...d.imageDirs()];
  const queueImageRoots = (id: string) => imageRoots(q.view(id).cwd);
  const g = d.groups;
  /** A POST that takes no body (an empty or `{}` one) and names its queue or group. */
  const command = (route: string, fn: (id: string) => unknown) =>
    router.post(route, async (ctx) => {
      await body(ctx, 'NoBody', limit);
      ctx.body = fn(param(ctx, 'id'));
    });
  /** SSE of one queue's or group's events; 404 before the stream opens when it does not exist. */
  const events = (route: string, log: EventLog, view: (id: string) => object) =>
    router.get(route, (ctx) => {
      const id = param(ctx, 'id');
      view(id);
      streamEvents(ctx, {
        log,
        key: id,
        snapshot: () => {
          try {
            return view(id);
          } catch {
            return undefined; // deleted meanwhile
          }
        },
        lastEventId: ctx.get('last-event-id') || undefined,
        open: d.open,
      });
    });

  // --- queues
  router.get('/api/queues', (ctx) => {
    ctx.body = { queues: q.list() };
  });
  router.post('/api/queues', async (ctx) => {
    const b = await body<{
      name: string;
      cwd?: string;
      projectPath?: string;
      sessionId?: string;
      model?: string;
      sandbox?: string;
      approvalPolicy?: string;
      maxRetries?: number;
      prompts?: (string | PromptBody)[];
    }>(ctx, 'CreateQueue', limit);
    const cwd = b.cwd ?? b.projectPath;
    if ((cwd === undefined) === (b.sessionId === undefined))
      throw new HttpError(
        400,
        'invalid_body',
        'give exactly one of cwd (or projectPath) and sessionId',
        'cwd starts a new thread there; sessionId queues into an existing session',
      );
    const spec: NewQueue = {
      name: b.name,
      cwd: cwd === undefined ? null : checkCwd(cwd),
      threadId: b.sessionId?.toLowerCase() ?? null,
      model: b.model ?? null,
      sandbox: b.sandbox ?? null,
      approvalPolicy: b.approvalPolicy ?? null,
      maxRetries: b.maxRetries ?? 0,
    };
    const prompts = (b.prompts ?? []).map(newPrompt);
    for (const p of prompts) checkPromptImages(undefined, p.images, imageRoots(spec.cwd));
    ctx.status = 201;
    ctx.body = q.create(spec, prompts);
  });
  router.get('/api/queues/:id', (ctx) => {
    ctx.body = q.view(param(ctx, 'id'));
  });
  router.delete('/api/queues/:id', (ctx) => {
    ctx.body = q.delete(param(ctx, 'id'));
  });
  events('/api/queues/:id/events', d.queueEvents, (id) => q.view(id));
  for (const seg of ['prompts', 'commands']) {
    const base = `/api/queues/:id/${seg}`;
    router.post(base, async (ctx) => {
      const b = await body<PromptBody>(ctx, 'PromptInput', limit);
      checkPromptImages(undefined, b.images, queueImageRoots(param(ctx, 'id')));
      ctx.status = 201;
      ctx.body = q.addPrompt(param(ctx, 'id'), newPrompt(b));
    });
    router.patch(`${base}/:pid`, async (ctx) => {
      const b = await body<PromptBody>(ctx, 'UpdatePrompt', limit);
      checkPromptImages(undefined, b.images, queueImageRoots(param(ctx, 'id')));
      const text = b.text ?? b.prompt;
      ctx.body = q.updatePrompt(param(ctx, 'id'), param(ctx, 'pid'), {
        ...(text !== undefined ? { text } : {}),
        ...(b.images !== undefined ? { images: b.images } : {}),
        ...(b.mode !== undefined ? { mode: b.mode } : {}),
      });
    });
    router.delete(`${base}/:pid`, (ctx) => {
      ctx.body = q.removePrompt(param(ctx, 'id'), param(ctx, 'pid'));
    });
    router.post(`${base}/:pid/move`, async (ctx) => {
      const b = await body<{ to: number }>(ctx, 'MovePrompt', limit);
      ctx.body = q.movePrompt(param(ctx, 'id'), param(ctx, 'pid'), b.to);
    });
    router.post(`${base}/:pid/mode`, async (ctx) => {
      const b = await body<{ mode: 'auto' | 'manual' }>(ctx, 'SetMode', limit);
      ctx.body = q.updatePrompt(param(ctx, 'id'), param(ctx, 'pid'), { mode: b.mode });
    });
  }
  command('/api/queues/:id/start', (id) => q.start(id));
  command('/api/queues/:id/run', (id) => q.start(id));
  command('/api/queues/:id/pause', (id) => q.pause(id));
  command('/api/queues/:id/resume', (id) => q.resume(id));
  router.post('/api/queues/:id/stop', async (ctx) => {
    const b = await body<{ now?: boolean }>(ctx, 'StopQueue', limit);
    ctx.body = await q.stop(param(ctx, 'id'), b.now === true);
  });

  // --- groups
  router.get('/api/groups', (ctx) => {
    ctx.body = { groups: g.list() };
  });
  router.post('/api/groups', async (ctx) => {
    const b = await body<{ name: string; description?: string; sessionIds?: string[] }>(
      ctx,
      'CreateGroup',
      limit,
    );
    ctx.status = 201;
    ctx.body = await g.create({ ...b, sessionIds: b.sessionIds?.map((s) => s.toLowerCase()) });
  });
  router.get('/api/groups/:id', (ctx) => {
    ctx.body = g.view(param(ctx, 'id'));
  });
  router.delete('/api/groups/:id', (ctx) => {
    ctx.body = g.delete(param(ctx, 'id'));
  });
  router.post('/api/groups/:id/sessions', async (ctx) => {
    const b = await body<{ sessionId: string }>(ctx, 'AddSession', limit);
    ctx.body = await g.addSession(param(ctx, 'id'), b.sessionId.toLowerCase());
  });
  router.delete('/api/groups/:id/sessions/:sid', (ctx) => {
    ctx.body = g.removeSession(param(ctx, 'id'), param(ctx, 'sid'));
  });
  router.post('/api/groups/:id/run', async (ctx) => {
    const b = await body<{
      prompt?: string;
      text?: string;
      images?: string[];
      maxConcurrent?: number;
      model?: string;
      sandbox?: string;
      approvalPolicy?: string;
    }>(ctx, 'RunGroup', limit);
    // One run spans sessions with different cwds: its images come from images.allowedDirs only.
    checkPromptImages(undefined, b.images, d.imageDirs());
    ctx.status = 202;
    ctx.body = g.run(param(ctx, 'id'), {
      prompt: (b.prompt ?? b.text) as string,
      images: b.images,
      maxConcurrent: b.maxConcurrent ?? 4,
      model: b.model ?? null,
      sandbox: b.sandbox ?? null,
      approvalPolicy: b.approvalPolicy ?? null,
    });
  });
  command('/api/groups/:id/pause', (id) => g.setPaused(id, true));
  command('/api/groups/:id/resume', (id) => g.setPaused(id, false));
  events('/api/groups/:id/events', d.groupEvents, (id) => g.view(id));
}
