/**
 * packaging/homebrew/codex-sm.rb, without a Mac: Ruby parses it (`ruby -c`), and loaded against a
 * stand-in for Homebrew's DSL (test/fixtures/homebrew/formula-dsl.rb) its `service do` block runs
 * the process `codex-sm install-service --platform launchd` would put in its LaunchAgent. Ruby
 * comes from Debian's `ruby` package, which .ci/run installs; without it these tests skip, saying
 * so. What only a Mac can check (`brew audit`, `brew install`, `brew services`) is in docs/macos.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parsePlist } from 'plist';
import { CLI, REPO_ROOT, tempDir } from '../../harness/service.js';

const FORMULA = path.join(REPO_ROOT, 'packaging', 'homebrew', 'codex-sm.rb');
const DSL = path.join(REPO_ROOT, 'test', 'fixtures', 'homebrew', 'formula-dsl.rb');
const PKG = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
};

/** The formula as the DSL stand-in prints it (Homebrew paths as "@helper@" placeholders). */
interface FormulaInfo {
  class: string;
  installs: boolean;
  depends_on: string[];
  url: string;
  sha256: string;
  license: string;
  test: boolean;
  service: {
    run: string[];
    keep_alive: { successful_exit: boolean };
    log_path: string;
    error_log_path: string;
    environment_variables: Record<string, string>;
  };
}

/** The parts of the LaunchAgent plist the formula's service stands in for. */
interface AgentPlist {
  ProgramArguments: string[];
  KeepAlive: { SuccessfulExit: boolean };
  EnvironmentVariables: Record<string, string>;
  StandardOutPath: string;
  StandardErrorPath: string;
}

function ruby(args: string[]) {
  const r = spawnSync('ruby', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/** Runs the CLI the way launchd would start it for a user: HOME set, nothing configured. */
function cli(args: string[], home: string): unknown {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { HOME: home, PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
  return JSON.parse(r.stdout);
}

/** The LaunchAgent `install-service --platform launchd` would write for a user with this HOME. */
function plannedAgent(home: string): AgentPlist {
  const plan = cli(['install-service', '--dry-run', '--platform', 'launchd', '--json'], home) as {
    files: { path: string; content: string }[];
  };
  const agent = plan.files.find((f) => f.path.endsWith('.plist'));
  expect(agent, 'the LaunchAgent plist in the plan').to.not.equal(undefined);
  // The renderer's own output: the fields read here are the ones it always writes.
  return parsePlist(agent?.content ?? '') as unknown as AgentPlist;
}

/** The flags after `serve` as a map: --name → value. */
function flagMap(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const [name = '', value = ''] = args.slice(i, i + 2);
    expect(name, `a flag at position ${i} of ${args.join(' ')}`).to.match(/^--/);
    flags.set(name, value);
  }
  return flags;
}

describe('packaging/homebrew/codex-sm.rb (ruby, no Homebrew)', function () {
  this.timeout(60_000);
  let formula: FormulaInfo;

  before(function () {
    if (spawnSync('ruby', ['--version'], { stdio: 'ignore' }).status !== 0) {
      console.warn('    SKIPPED: ruby is not installed (apt-get install ruby; CI installs it)');
      this.skip();
    }
    const r = ruby([DSL, FORMULA]);
    expect(r.status, r.out).to.equal(0);
    formula = JSON.parse(r.stdout) as FormulaInfo;
  });

  it('`ruby -c` accepts it', () => {
    const r = ruby(['-c', FORMULA]);
    expect(r.status, r.out).to.equal(0);
    expect(r.out).to.include('Syntax OK');
  });

  it('installs this version of the npm tarball on Homebrew node, with an install and a test block', () => {
    expect(formula.class).to.equal('CodexSm');
    expect(formula.url).to.equal(
      `https://registry.npmjs.org/${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`,
    );
    expect(formula.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(formula.license).to.equal(PKG.license);
    expect(formula.depends_on).to.include('node@24'); // not node: its next major is refused (node-support.ts)
    expect(formula.installs).to.equal(true);
    expect(formula.test).to.equal(true);
  });

  it('its service runs what `install-service --platform launchd` puts in ProgramArguments', () => {
    const home = tempDir('codex-sm-brew-');
    const [node = '', main = '', serve, ...flags] = plannedAgent(home).ProgramArguments;
    const run = formula.service.run;

    // node: an absolute path there, Homebrew's node (the dependency) here.
    expect(path.basename(node)).to.equal('node');
    expect(run[0]).to.equal('@node@24.opt_bin@/node');
    // main.js: the package's bin, under the prefix `npm install -g` (std_npm_args) installs into.
    const relMain = path.relative(REPO_ROOT, main);
    expect(relMain).to.equal(
      path.normalize(PKG.bin['codex-sm'] ?? 'package.json has no codex-sm bin'),
    );
    expect(run[1]).to.equal(`@opt_libexec@/lib/node_modules/${PKG.name}/${relMain}`);
    expect(run.slice(2)).to.deep.equal([serve]);

    // The flags install-service adds are exactly what `serve` resolves by itself for this user:
    // the formula leaves them out because its plist is written before it knows HOME.
    const config = (cli(['config', 'show', '--json'], home) as { config: Record<string, unknown> })
      .config;
    const codex = (cli(['version', '--json'], home) as { codex: { path: string } }).codex;
    expect(Object.fromEntries(flagMap(flags))).to.deep.equal({
      '--host': config.host,
      '--port': String(config.port),
      '--codex-home': config.codexHome,
      '--token-file': config.tokenFile,
      '--codex-bin': codex.path,
    });
  });

  it('restarts on a crash only, and tells the service its log files, as the LaunchAgent does', () => {
    const home = tempDir('codex-sm-brew-');
    const plist = plannedAgent(home);
    const svc = formula.service;
    expect(plist.KeepAlive).to.deep.equal({ SuccessfulExit: false });
    expect(svc.keep_alive).to.deep.equal({ successful_exit: false });
    expect(plist.EnvironmentVariables.CODEX_SM_LOG_FILES).to.equal(
      `${plist.StandardOutPath}:${plist.StandardErrorPath}`,
    );
    expect(svc.environment_variables.CODEX_SM_LOG_FILES).to.equal(
      `${svc.log_path}:${svc.error_log_path}`,
    );
    expect(svc.environment_variables.PATH).to.equal('@std_service_path_env@');
    expect(Object.keys(plist.EnvironmentVariables)).to.include.members(
      Object.keys(svc.environment_variables),
    );
  });
});
