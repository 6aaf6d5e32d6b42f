/** `POST /api/notify/test` (admin): send a test event to every webhook target now. */
import type Router from '@koa/router';
import type { NotifyHandle } from './index.js';

export function registerNotifyRoutes(router: Router, notify: Pick<NotifyHandle, 'test'>): void {
  router.post('/api/notify/test', async (c) => {
    const targets = await notify.test();
    c.body = { targets };
  });
}
