/** Under launchd the plist names our log files (CODEX_SM_LOG_FILES); serve keeps them bounded in place. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startService, tempDir } from '../../harness/service.js';

describe('serve truncates launchd log files in place (integration)', function () {
  this.timeout(30_000);
  it('shrinks an oversized log file named by CODEX_SM_LOG_FILES, keeping its newest lines and inode', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'codex-sm.out.log');
    const line = 'x'.repeat(99) + '\n';
    fs.writeFileSync(log, line.repeat(110_000) + 'NEWEST LINE\n'); // ~11 MB > the 10 MiB limit
    const inode = fs.statSync(log).ino;
    const svc = await startService({ dir, env: { CODEX_SM_LOG_FILES: log } });
    const l = await svc.waitForLog((x) => x.msg === 'log file truncated');
    expect(l.file).to.equal(log);
    const after = fs.statSync(log);
    expect(after.ino).to.equal(inode);
    expect(after.size).to.be.below(3 * 1024 * 1024);
    expect(fs.readFileSync(log, 'utf8').endsWith('NEWEST LINE\n')).to.equal(true);
    await svc.stop();
  });
});
