/**
 * `codex-sm notify test`: ask the running service to send a test event to every configured
 * webhook target now (docs/notify.md), and say which targets answered 2xx. Exits 1 when one did
 * not, so a script can check a setup.
 */
import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { call, clientCommand, connection, runClientCommand } from '../service-client.js';

interface TestAnswer {
  targets: { url: string; ok: boolean; status?: number; error?: string }[];
}

export function testReport(a: TestAnswer): string {
  if (!a.targets.length) return 'no webhook targets configured (notify.webhooks in the config)';
  return a.targets
    .map(
      (t) =>
        `${t.ok ? 'ok  ' : 'FAIL'} ${t.url}  ${t.status !== undefined ? `HTTP ${t.status}` : (t.error ?? '')}`,
    )
    .join('\n');
}

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('webhook notifications');
  clientCommand(
    notify.command('test').description('send a test event to every webhook target now'),
  ).action((_o: unknown, cmd: Command) =>
    runClientCommand(cmd, async (f) => {
      const a = await call<TestAnswer>(connection(f), '/api/notify/test', {
        method: 'POST',
        body: {},
      });
      const failed = a.targets.some((t) => !t.ok);
      return { json: a, human: testReport(a), ...(failed ? { exitCode: EXIT.failure } : {}) };
    }),
  );
}
