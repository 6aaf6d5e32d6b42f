import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { envLayer, envNameFor, resolveConfig } from '../../src/config/load.js';
import { CodexSmError } from '../../src/errors.js';
import { REPO_ROOT, tempDir } from '../../harness/service.js';

function fails(fn: () => unknown): CodexSmError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CodexSmError);
    return e as CodexSmError;
  }
  throw new Error('expected a config error');
}

describe('config resolution (unit)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = tempDir();
    env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') };
  });
  const writeConfig = (obj: unknown) => {
    fs.mkdirSync(path.join(dir, 'cfg', 'codex-sm'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'cfg', 'codex-sm', 'config.json'), JSON.stringify(obj));
  };

  it('has embedded defaults: loopback, 3100, ~/.codex, token beside the config', () => {
    const { config, sources } = resolveConfig({ env });
    expect(config.host).to.equal('127.0.0.1');
    expect(config.port).to.equal(3100);
    expect(config.codexHome).to.equal(path.join(dir, '.codex'));
    expect(config.tokenFile).to.equal(path.join(dir, 'cfg', 'codex-sm', 'token'));
    expect(config.appServer.backoffInitialMs).to.equal(500);
    expect(sources.fileLoaded).to.equal(false);
  });

  it('layers defaults < file < env < flags', () => {
    writeConfig({
      port: 4000,
      host: '127.0.0.2',
      logLevel: 'warn',
      appServer: { backoffMaxMs: 5000 },
    });
    env.CODEX_SM_PORT = '4001';
    env.CODEX_SM_APP_SERVER__BACKOFF_INITIAL_MS = '50';
    const { config, sources } = resolveConfig({ env, flags: { port: 4002 } });
    expect(config.port).to.equal(4002);
    expect(config.host).to.equal('127.0.0.2');
    expect(config.logLevel).to.equal('warn');
    expect(config.appServer.backoffMaxMs).to.equal(5000);
    expect(config.appServer.backoffInitialMs).to.equal(50);
    expect(sources.env).to.deep.equal(['CODEX_SM_PORT', 'CODEX_SM_APP_SERVER__BACKOFF_INITIAL_MS']);
  });

  it('CODEX_HOME in the environment is the default codexHome; ~ expands', () => {
    expect(resolveConfig({ env: { ...env, CODEX_HOME: '/srv/codex' } }).config.codexHome).to.equal(
      '/srv/codex',
    );
    expect(resolveConfig({ env, flags: { codexHome: '~/x' } }).config.codexHome).to.equal(
      path.join(dir, 'x'),
    );
  });

  it('names the key, the bad value and what is allowed, with exit code 78', () => {
    writeConfig({ port: 70000 });
    const e = fails(() => resolveConfig({ env }));
    expect(e.exitCode).to.equal(78);
    expect(e.message).to.contain('port = 70000').and.contain('0..65535');
    expect(e.message).to.not.contain('\n');
  });

  it('rejects unknown keys, wrong types and bad enums in every layer', () => {
    writeConfig({ prot: 1 });
    expect(fails(() => resolveConfig({ env })).message).to.match(
      /unknown key "prot".*allowed keys: host, port/,
    );
    writeConfig({ appServer: { transport: 'tcp' } });
    expect(fails(() => resolveConfig({ env })).message).to.match(
      /appServer\.transport = "tcp".*unix, ws/,
    );
    writeConfig({});
    expect(fails(() => resolveConfig({ env: { ...env, CODEX_SM_PORT: 'abc' } })).message).to.match(
      /^environment: port = "abc".*integer/,
    );
    expect(
      fails(() => resolveConfig({ env, flags: { logLevel: 'loud' as never } })).message,
    ).to.match(/^command line: logLevel/);
    expect(fails(() => resolveConfig({ env: { ...env, CODEX_SM_PROT: '1' } })).message).to.match(
      /unknown environment variable CODEX_SM_PROT/,
    );
  });

  it('reports unreadable and malformed files, and a missing explicit --config', () => {
    writeConfig({});
    const file = path.join(dir, 'cfg', 'codex-sm', 'config.json');
    fs.writeFileSync(file, '{"port": ');
    expect(fails(() => resolveConfig({ env })).message).to.match(/not valid JSON/);
    fs.writeFileSync(file, '[1]');
    expect(fails(() => resolveConfig({ env })).message).to.match(/must hold a JSON object/);
    expect(
      fails(() => resolveConfig({ env, configFile: path.join(dir, 'nope.json') })).message,
    ).to.match(/cannot read config file .*ENOENT/);
    if (process.getuid?.() !== 0) {
      fs.writeFileSync(file, '{}');
      fs.chmodSync(file, 0);
      expect(fails(() => resolveConfig({ env })).message).to.match(/EACCES/);
    }
  });

  it('maps env names from the schema, nested with a double underscore', () => {
    expect(envNameFor(['codexHome'])).to.equal('CODEX_SM_CODEX_HOME');
    expect(envNameFor(['appServer', 'requestTimeoutMs'])).to.equal(
      'CODEX_SM_APP_SERVER__REQUEST_TIMEOUT_MS',
    );
    const { layer } = envLayer({
      CODEX_SM_ALLOWED_HOSTS: 'a.example, b.example',
      CODEX_SM_INSECURE_BIND: 'yes',
      CODEX_SM_TOKEN: 'secret-not-config',
    });
    expect(layer).to.deep.equal({ allowedHosts: ['a.example', 'b.example'], insecureBind: true });
  });
});

describe('docs/configuration.md (unit)', () => {
  it('documents every config key and env variable the schema defines', async () => {
    const { envVariables } = await import('../../src/config/load.js');
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    for (const v of envVariables()) {
      const key = v.keyPath.join('.');
      expect(doc, `docs/configuration.md lacks ${key}`).to.contain('`' + key + '`');
    }
  });
});

describe('config validator (unit)', () => {
  it('the build-time standalone validator matches the schema and behaves like the compiled one', async () => {
    const { validatorSource } = await import('../../src/config/validator-gen.js');
    const { schemaHash, GENERATED_VALIDATOR } =
      await import('../../src/config/validator-options.js');
    const file = path.join(REPO_ROOT, 'dist', 'src', 'config', GENERATED_VALIDATOR);
    expect(fs.existsSync(file), 'make build generates it').to.equal(true);
    expect(fs.readFileSync(file, 'utf8')).to.equal(validatorSource());
    expect(fs.readFileSync(file, 'utf8')).to.contain(schemaHash());
    const { createRequire } = await import('node:module');
    const validate = createRequire(import.meta.url)(file) as (d: unknown) => boolean;
    const data: Record<string, unknown> = { port: 3200, appServer: {} };
    expect(validate(data)).to.equal(true);
    expect(data.host).to.equal('127.0.0.1'); // defaults filled
    expect((data.appServer as Record<string, unknown>).backoffMaxMs).to.equal(30_000);
    expect(validate({ port: 70_000 })).to.equal(false);
    expect(validate({ nope: 1 })).to.equal(false);
  });
});
