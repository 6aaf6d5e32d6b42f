/**
 * The codex-sm command tree. Each command lives in its own module under ./commands and
 * registers itself here; output follows the one rule in ./output.ts. Kept apart from the entry
 * (./main.ts, which parses argv when loaded) so tests can build the program and read its help.
 *
 * Only the module of the command being run is loaded: `serve` is what systemd starts and
 * waits READY=1 for, so it must not pay for D-Bus, plist or session-client code it never uses
 * (measured in bench/serve: ~130 ms of start-up). Help and unknown commands load everything.
 */
import type { Command } from 'commander';
import { requestedCommand } from './argv.js';
import { rootProgram } from './root.js';

export { requestedCommand };

type Register = (program: Command) => void;

const lifecycle = async (): Promise<Register> =>
  (await import('./commands/lifecycle.js')).registerLifecycle;
const daemon = async (): Promise<Register> => (await import('./commands/daemon.js')).registerDaemon;
const MODULES: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.js')).registerServe,
  version: async () => (await import('./commands/version.js')).registerVersion,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  config: async () => (await import('./commands/config.js')).registerConfig,
  'install-service': lifecycle,
  'uninstall-service': lifecycle,
  start: lifecycle,
  stop: lifecycle,
  restart: lifecycle,
  status: lifecycle,
  logs: lifecycle,
  session: async () => (await import('./commands/session.js')).registerSession,
  queue: async () => (await import('./commands/queue.js')).registerQueue,
  group: async () => (await import('./commands/group.js')).registerGroup,
  token: async () => (await import('./commands/token.js')).registerToken,
  open: async () => (await import('./commands/open.js')).registerOpen,
  completion: async () => (await import('./commands/completion.js')).registerCompletion,
  notify: async () => (await import('./commands/notify.js')).registerNotify,
  bootstrap: daemon,
  'enable-remote-control': daemon,
  'disable-remote-control': daemon,
  update: daemon,
};

export async function buildProgram(
  args: readonly string[] = process.argv.slice(2),
): Promise<Command> {
  const program = rootProgram();
  const wanted = MODULES[requestedCommand(args) ?? ''];
  const loaders = wanted ? [wanted] : [...new Set(Object.values(MODULES))];
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}
