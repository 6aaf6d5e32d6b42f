/**
 * The HTTP client the CLI uses to talk to a running service (status, sessions, ...). Endpoint
 * and token come from the resolved config, exactly as the service itself resolves them.
 */
import http from 'node:http';
import { CodexSmError } from './errors.js';
import https from 'node:https';
import type {
  AppServerRestartJson,
  ServiceStatusJson,
  TurnRunningJson,
} from '../service/status-json.js';

export interface ServiceResponse {
  status: number;
  body: unknown;
}

/** One request to the service; rejects only on transport errors (refused, timeout). */
export function serviceRequest(
  endpoint: string,
  token: string | undefined,
  path: string,
  opts: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<ServiceResponse> {
  const url = new URL(path, endpoint);
  const mod = url.protocol === 'https:' ? https : http;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: opts.method ?? (payload ? 'POST' : 'GET'),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: keep text */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The service's own /status, or undefined when it does not answer. */
export async function fetchServiceStatus(
  endpoint: string,
  token: string | undefined,
  timeoutMs = 3000,
): Promise<ServiceStatusJson | undefined> {
  try {
    const r = await serviceRequest(endpoint, token, '/status', { timeoutMs });
    return r.status === 200 ? (r.body as ServiceStatusJson) : undefined;
  } catch {
    return undefined;
  }
}

/** http://host:port for a bind address (wildcards are reached through loopback). */
export function endpointFor(host: string, port: number, tls = false): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** What `POST /api/app-server/restart` answers. */
export type AppServerRestartResult =
  AppServerRestartJson | { restarted: false; runningTurns: number; message: string };

/**
 * Restart only the app-server (codex-sm's own process and listener stay). Without `force`, a
 * running turn is waited for up to `waitIdleMs`, then the restart is refused (409).
 */
export async function restartAppServer(
  endpoint: string,
  token: string | undefined,
  opts: { force: boolean; waitIdleMs: number },
): Promise<AppServerRestartResult> {
  const r = await serviceRequest(endpoint, token, '/api/app-server/restart', {
    method: 'POST',
    body: { force: opts.force, waitIdleMs: opts.waitIdleMs },
    // The wait for idle, then the new app-server's start-up.
    timeoutMs: opts.waitIdleMs + 120_000,
  });
  const body = (r.body ?? {}) as Record<string, unknown>;
  // The service's own answers (docs/api.md); anything else is an error below.
  if (r.status === 200) return r.body as AppServerRestartJson;
  const err = (body.error ?? {}) as { code?: string; message?: string };
  if (r.status === 409 && err.code === 'turn_running') {
    const busy = r.body as TurnRunningJson;
    return { restarted: false, runningTurns: busy.runningTurns, message: busy.error.message };
  }
  throw new CodexSmError(
    'service_error',
    `restarting the app-server failed: HTTP ${r.status} ${err.code ?? ''} ${err.message ?? ''}`.trim(),
    { hint: 'see `codex-sm logs`' },
  );
}
