/**
 * HTTP routes for approvals: the list, the change stream, one approval, and its answer (which
 * goes to the app-server as the held request's result). Ids are checked before any lookup: 400
 * for anything that is not an approval id, 404 when unknown, 409 when already answered.
 */
import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { HttpError, readJsonBody } from '../http.js';
import type { ApprovalStatus } from './approval-json.js';
import { ApprovalError, type AnswerInput, type Approvals } from './approvals.js';
import { streamApprovalEvents } from './approval-events.js';
import type { EventLog } from '../work/events.js';
import { validateBody, validateQuery } from './schemas.js';

export interface ApprovalRouteDeps {
  approvals: Approvals;
  /** Every approval's changes, for `GET /api/approvals/events` (approval-events.ts). */
  approvalEvents: EventLog;
  /** Open SSE streams' closers, ended at shutdown. */
  streams: Set<() => void>;
  /** Answer a held server request on the control connection. */
  respond(requestId: string | number, result: unknown): void;
  bodyLimitBytes: number;
}

const APPROVAL_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function registerApprovalRoutes(router: Router, d: ApprovalRouteDeps): void {
  router.get('/api/approvals', (ctx) => {
    const q = validateQuery<{ status: ApprovalStatus | 'all'; sessionId?: string }>(
      'Approvals',
      ctx.query,
    );
    ctx.body = { approvals: d.approvals.list({ status: q.status, threadId: q.sessionId }) };
  });

  // Before `/api/approvals/:id`, which would take `events` for an id.
  router.get('/api/approvals/events', (ctx) => {
    streamApprovalEvents(ctx, {
      approvals: d.approvals,
      log: d.approvalEvents,
      open: d.streams,
    });
  });

  router.get('/api/approvals/:id', (ctx) => {
    const a = d.approvals.get(approvalIdParam(ctx));
    if (!a)
      throw new HttpError(
        404,
        'approval_not_found',
        `no approval ${ctx.params.id}`,
        'list them with GET /api/approvals?status=all',
      );
    ctx.body = a;
  });

  router.post('/api/approvals/:id', async (ctx) => {
    const id = approvalIdParam(ctx);
    const b = validateBody<AnswerInput>(
      'AnswerApproval',
      await readJsonBody(ctx, d.bodyLimitBytes),
    );
    try {
      ctx.body = d.approvals.answer(id, b, { respond: d.respond });
    } catch (e) {
      if (e instanceof ApprovalError) {
        throw e.code === 'not_found'
          ? new HttpError(404, 'approval_not_found', e.message)
          : new HttpError(409, 'approval_already_answered', e.message, undefined, {
              approval: d.approvals.get(id),
            });
      }
      throw e;
    }
  });
}

function approvalIdParam(ctx: RouterContext): string {
  const id = (ctx.params.id ?? '').toLowerCase();
  if (!APPROVAL_ID_RE.test(id))
    throw new HttpError(
      400,
      'invalid_approval_id',
      `not an approval id: ${JSON.stringify(id.slice(0, 80))}`,
    );
  return id;
}
