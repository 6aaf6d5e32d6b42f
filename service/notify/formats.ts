/**
 * How an event becomes an HTTP request body for a target's format: `json` (the event itself)
 * or `ntfy` (a plain-text message with ntfy's Title/Priority/Tags/Click headers, for a phone).
 * Pure: the signing headers are added by the sender over whatever body this returns.
 */
import type { NotifyEvent } from './events.js';

export type WebhookFormat = 'json' | 'ntfy';

export interface RenderedRequest {
  body: string;
  headers: Record<string, string>;
}

/** ntfy priorities 1–5: what needs a person now is loud, what is news is quiet. */
const NTFY: Record<NotifyEvent['type'], { priority: number; tags: string[] }> = {
  'approval.requested': { priority: 5, tags: ['warning', 'codex'] },
  'approval.timedOut': { priority: 4, tags: ['hourglass', 'codex'] },
  'turn.completed': { priority: 3, tags: ['white_check_mark', 'codex'] },
  'turn.failed': { priority: 4, tags: ['x', 'codex'] },
  'queue.completed': { priority: 3, tags: ['white_check_mark', 'codex'] },
  'queue.failed': { priority: 4, tags: ['x', 'codex'] },
  'group.completed': { priority: 3, tags: ['white_check_mark', 'codex'] },
  'appServer.restarted': { priority: 3, tags: ['arrows_counterclockwise', 'codex'] },
  'appServer.failed': { priority: 5, tags: ['rotating_light', 'codex'] },
  'service.started': { priority: 2, tags: ['rocket', 'codex'] },
  test: { priority: 3, tags: ['test_tube', 'codex'] },
};

/** HTTP header values must be Latin-1 without control characters. */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');

function title(e: NotifyEvent): string {
  const about = e.queueId ?? e.groupId ?? e.sessionId;
  return `codex-sm: ${e.type}${about ? ` (${about.slice(0, 8)})` : ''}`;
}

/** `link`: where a click should go (the service's own URL for the thing), if known. */
export function render(e: NotifyEvent, format: WebhookFormat, link?: string): RenderedRequest {
  if (format === 'json') {
    const body = JSON.stringify(link ? { ...e, url: link } : e);
    return { body, headers: { 'content-type': 'application/json' } };
  }
  const n = NTFY[e.type];
  return {
    body: e.summary,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      Title: headerSafe(title(e)),
      Priority: String(n.priority),
      Tags: n.tags.join(','),
      ...(link ? { Click: headerSafe(link) } : {}),
    },
  };
}
