/**
 * `POST /api/app-server/restart`: restart only the app-server child (codex-sm's pid and
 * listener stay), so a changed launch setting (remote control) or a new codex binary (after an
 * update) takes effect. Running turns are not killed unless asked: the request can wait for
 * them (`waitIdleMs`) and is refused with 409 `turn_running` when they do not end in time.
 */
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { errorBody, HttpError, readJsonBody } from './http.js';
import { validateBodyWith } from './sessions/schemas.js';
import type { AppServerJson, AppServerRestartJson } from './status-json.js';
import { RestartFailedError, type AppServerSupervisor } from './supervisor.js';
import type { TurnActivity } from './turns.js';

export const restartBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    force: {
      type: 'boolean',
      description: 'restart even while turns are running (they are cut off)',
    },
    waitIdleMs: {
      type: 'integer',
      minimum: 0,
      maximum: 3_600_000,
      description: 'wait up to this long for running turns to end first (default 0)',
    },
  },
} as const;

interface RestartBody {
  force?: boolean;
  waitIdleMs?: number;
}

/** How long the answer waits for the new app-server's first remote-control status. */
const REMOTE_CONTROL_WAIT_MS = 2000;

export interface AppServerRouteDeps {
  logger: Logger;
  supervisor: AppServerSupervisor;
  turns: TurnActivity;
  /** SIGTERM → SIGKILL grace for the old child (from the current stop budget). */
  graceMs(): number;
}

export function registerAppServerRoutes(router: Router, d: AppServerRouteDeps): void {
  router.post('/api/app-server/restart', async (ctx) => {
    const body = validateBodyWith<RestartBody>(
      'RestartAppServer',
      restartBodySchema,
      await readJsonBody(ctx, 64 * 1024),
    );
    if (!body.force) {
      const waitMs = body.waitIdleMs ?? 0;
      if (d.turns.running > 0 && waitMs > 0)
        d.logger.info(
          { runningTurns: d.turns.running, waitIdleMs: waitMs },
          'app-server restart waits for running turns',
        );
      const running = await d.turns.waitIdle(waitMs);
      if (running > 0) {
        ctx.status = 409;
        ctx.body = {
          ...errorBody(
            'turn_running',
            `${running} turn${running === 1 ? ' is' : 's are'} running on the app-server`,
            'retry when they end, pass waitIdleMs to wait for them, or force: true to restart anyway (cuts them off)',
          ),
          runningTurns: running,
        };
        return;
      }
    }
    let restarted: AppServerJson;
    try {
      restarted = await d.supervisor.restart(d.graceMs(), 'restart requested over the API');
    } catch (e) {
      if (!(e instanceof RestartFailedError)) throw e;
      throw new HttpError(
        503,
        'app_server_restart_failed',
        `the app-server did not come back: ${e.message}`,
        'see `codex-sm logs`; the supervisor keeps retrying',
      );
    }
    const s = await remoteControlKnown(d.supervisor, REMOTE_CONTROL_WAIT_MS, restarted);
    ctx.body = {
      restarted: true,
      appServer: { pid: s.pid, version: s.version, remoteControl: s.remoteControl },
    } satisfies AppServerRestartJson;
  });
}

/**
 * The snapshot once the ready app-server `started` reported its remote-control status (it does
 * right after `initialize`, with or without the flag), or after timeoutMs without one. When
 * another restart replaces that app-server meanwhile (a call queued behind this one), the answer
 * stays about this restart's app-server: `started` as it was, not the next one's pid.
 */
export function remoteControlKnown(
  supervisor: AppServerSupervisor,
  timeoutMs: number,
  started: AppServerJson,
): Promise<AppServerJson> {
  const current = () => {
    const s = supervisor.snapshot();
    return s.pid === started.pid ? s : started;
  };
  const known = (s: AppServerJson) =>
    s.pid !== started.pid || s.state !== 'ready' || s.remoteControl.status !== null;
  if (known(supervisor.snapshot())) return Promise.resolve(current());
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      supervisor.off('state', onState);
      resolve(current());
    };
    const onState = (s: AppServerJson) => {
      if (known(s)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    supervisor.on('state', onState);
  });
}

const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errorRef = json({ $ref: '#/components/schemas/Error' });

/** The app-server part of `/openapi.json`. */
export function appServerOpenApi(): {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown> };
} {
  const remoteControl = {
    type: 'object',
    properties: {
      enabled: { type: 'boolean', description: 'launched with --remote-control' },
      status: {
        oneOf: [{ enum: ['disabled', 'connecting', 'connected', 'errored'] }, { type: 'null' }],
      },
      serverName: { oneOf: [{ type: 'string' }, { type: 'null' }] },
    },
  };
  return {
    paths: {
      '/api/app-server/restart': {
        post: {
          summary:
            'Restart only the app-server (re-reading settings.json); answers once the new one answered initialize',
          security: [{ bearer: [] }],
          requestBody: {
            required: false,
            ...json({ $ref: '#/components/schemas/RestartAppServer' }),
          },
          responses: {
            '200': {
              description: 'restarted',
              ...json({
                type: 'object',
                properties: {
                  restarted: { const: true },
                  appServer: {
                    type: 'object',
                    properties: {
                      pid: { type: 'integer' },
                      version: { type: 'string' },
                      remoteControl,
                    },
                  },
                },
              }),
            },
            '400': { description: 'invalid body', ...errorRef },
            '401': { description: 'missing or wrong bearer token', ...errorRef },
            '409': {
              description: 'turns are running (error.code turn_running, runningTurns: N)',
              ...errorRef,
            },
            '503': { description: 'the new app-server did not come up', ...errorRef },
          },
        },
      },
    },
    components: { schemas: { RestartAppServer: restartBodySchema } },
  };
}
