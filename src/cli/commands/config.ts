/** `codex-sm config show|validate|path`. */
import type { Command } from 'commander';
import fs from 'node:fs';
import { configFilePath, readConfigFile, resolveConfig } from '../../config/load.js';
import { addConfigFlags, loadConfig, type ConfigFlags } from '../common.js';
import { runCommand } from '../output.js';

type Flags = ConfigFlags & { json?: boolean };

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('show, validate or locate the configuration');

  addConfigFlags(
    config.command('show').description('print the resolved configuration (secrets redacted)'),
  )
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<Flags>();
      await runCommand(flags, () => {
        const { config: c, sources } = loadConfig(flags);
        const token = process.env.CODEX_SM_TOKEN
          ? { source: 'env:CODEX_SM_TOKEN', value: '<redacted>' }
          : {
              source: `file:${c.tokenFile}`,
              value: fs.existsSync(c.tokenFile) ? '<redacted>' : '<not created yet>',
            };
        const json = { config: c, sources, token };
        return { json, human: JSON.stringify(json, null, 2) };
      });
    });

  config
    .command('validate [file]')
    .description('check a config file (default: the one codex-sm would load) and the environment')
    .option('--json', 'print one JSON object')
    .action(async (file: string | undefined, _o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<Flags>();
      await runCommand<object>(flags, () => {
        if (file) {
          readConfigFile(file, true);
          return { json: { valid: true, file }, human: `${file}: valid` };
        }
        const { sources } = resolveConfig({ configFile: flags.config });
        const what = sources.fileLoaded ? sources.file : `${sources.file} (absent: defaults)`;
        return {
          json: {
            valid: true,
            file: sources.file,
            fileLoaded: sources.fileLoaded,
            env: sources.env,
          },
          human: `${what}: valid`,
        };
      });
    });

  config
    .command('path')
    .description('print the config file path codex-sm reads')
    .option('--json', 'print one JSON object')
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<Flags>();
      await runCommand(flags, () => {
        const { file, explicit } = configFilePath({ configFile: flags.config });
        return { json: { path: file, exists: fs.existsSync(file), explicit }, human: file };
      });
    });
}
