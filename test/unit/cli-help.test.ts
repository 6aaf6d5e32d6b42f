import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

/** A subcommand's help as one line: commander wraps descriptions at the terminal width. */
async function help(...path: string[]): Promise<string> {
  let cmd: Command = await buildProgram(path);
  for (const name of path) {
    const sub = cmd.commands.find((c) => c.name() === name);
    if (!sub) throw new Error(`no command ${path.join(' ')}`);
    cmd = sub;
  }
  return cmd.helpInformation().replace(/\s+/g, ' ');
}

describe('CLI help: what each flag means for that command (unit)', () => {
  it('serve and install-service describe the service side: the address to bind, the token file they create', async () => {
    for (const cmd of [['serve'], ['install-service']]) {
      const text = await help(...cmd);
      expect(text, cmd.join(' ')).to.contain('--host <addr> address to bind');
      expect(text, cmd.join(' ')).to.contain('(created 0600 if missing)');
    }
  });

  it('every session subcommand describes the client side: which service to talk to, the token to authenticate with', async () => {
    const session = (await buildProgram(['session'])).commands.find((c) => c.name() === 'session');
    const names = session?.commands.map((c) => c.name()) ?? [];
    expect(names).to.include.members(['list', 'show', 'search', 'watch', 'send', 'approve']);
    for (const name of names) {
      const text = await help('session', name);
      expect(text, `session ${name}`).not.to.match(/\bbind\b/);
      expect(text, `session ${name}`).not.to.contain('created 0600');
      expect(text, `session ${name}`).to.contain('--host <addr> host of the service to talk to');
      expect(text, `session ${name}`).to.contain('--port <n> port of the service to talk to');
      expect(text, `session ${name}`).to.contain(
        '--token-file <file> the token to authenticate with',
      );
    }
  });

  it('version offers only the flags that change its answer: which codex', async () => {
    const text = await help('version');
    expect(text).to.contain('--codex-bin <path>');
    expect(text).to.contain('--codex-home <dir>');
    for (const flag of ['--host', '--port', '--token-file', '--log-level']) {
      expect(text).not.to.contain(flag);
    }
  });
});
