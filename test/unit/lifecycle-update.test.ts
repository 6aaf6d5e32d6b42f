/** How `update` picks its command from how Codex is installed (pure, real paths in a temp dir). */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  NPM_UPDATE,
  STANDALONE_UPDATE,
  updateCommandFor,
  updateEnvironment,
} from '../../src/lifecycle/update.js';
import { parseSettings } from '../../src/settings.js';
import { tempDir } from '../../harness/service.js';

describe('update: the command for the codex install', () => {
  const dir = tempDir('update-cmd-');
  const codexHome = path.join(dir, '.codex');
  const pkgRoot = path.join(dir, 'codex-sm');

  it('a configured argv wins, as given', () => {
    expect(
      updateCommandFor('/x/codex', codexHome, ['brew', 'upgrade', 'codex'], pkgRoot),
    ).to.deep.equal({
      argv: ['brew', 'upgrade', 'codex'],
      source: 'config',
    });
  });

  it('the standalone install.sh layout under CODEX_HOME/packages/standalone', () => {
    const bin = path.join(codexHome, 'packages', 'standalone', 'current', 'codex');
    expect(updateCommandFor(bin, codexHome, [], pkgRoot)).to.deep.equal({
      argv: STANDALONE_UPDATE,
      source: 'standalone',
    });
  });

  it('an npm install (the native binary inside node_modules/@openai), through a symlink', () => {
    const real = path.join(
      dir,
      'npm',
      'lib',
      'node_modules',
      '@openai',
      'codex',
      'bin',
      'codex.js',
    );
    fs.mkdirSync(path.dirname(real), { recursive: true });
    fs.writeFileSync(real, '');
    const link = path.join(dir, 'npm', 'bin', 'codex');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(real, link);
    expect(updateCommandFor(link, codexHome, [], pkgRoot)).to.deep.equal({
      argv: NPM_UPDATE,
      source: 'npm',
    });
  });

  it("refuses codex-sm's own dev dependency and an unknown install, with a hint", () => {
    const dev = path.join(pkgRoot, 'node_modules', '@openai', 'codex-linux-x64', 'codex');
    expect(() => updateCommandFor(dev, codexHome, [], pkgRoot))
      .to.throw(/pinned dev dependency/)
      .with.property('code', 'update_unsupported');
    expect(() => updateCommandFor('/usr/local/bin/codex', codexHome, [], pkgRoot))
      .to.throw(/cannot tell how/)
      .with.property('hint')
      .that.matches(/update\.command/);
  });

  it('the update command sees no secret and no codex-sm config, only what installing needs', () => {
    const env = updateEnvironment(
      {
        PATH: '/usr/bin',
        HOME: '/home/a',
        LANG: 'C.UTF-8',
        HTTPS_PROXY: 'http://proxy:3128',
        npm_config_prefix: '/home/a/.npm-global',
        OPENAI_API_KEY: 'sk-secret',
        CODEX_SM_TOKEN: 'tok',
        CODEX_SM_PORT: '3100',
        AWS_SECRET_ACCESS_KEY: 'x',
      },
      '/home/a/.codex',
    );
    expect(env).to.deep.equal({
      PATH: '/usr/bin',
      HOME: '/home/a',
      LANG: 'C.UTF-8',
      HTTPS_PROXY: 'http://proxy:3128',
      npm_config_prefix: '/home/a/.npm-global',
      CODEX_HOME: '/home/a/.codex',
    });
  });

  it('a symlink into the standalone layout is a standalone install', () => {
    const real = path.join(codexHome, 'packages', 'standalone', 'current', 'codex');
    fs.mkdirSync(path.dirname(real), { recursive: true });
    fs.writeFileSync(real, '');
    const link = path.join(dir, 'local-bin', 'codex');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(real, link);
    expect(updateCommandFor(link, codexHome, [], pkgRoot).source).to.equal('standalone');
  });

  it('managed settings: defaults for a missing or broken file, a pending update kept', () => {
    expect(parseSettings('not json')).to.deep.equal({ remoteControl: false, pendingUpdate: null });
    expect(
      parseSettings('{"remoteControl":true,"pendingUpdate":{"version":"0.170.0","since":"t"}}'),
    ).to.deep.equal({ remoteControl: true, pendingUpdate: { version: '0.170.0', since: 't' } });
    expect(parseSettings('{"remoteControl":"yes"}').remoteControl).to.equal(false);
  });
});
