/**
 * The keys every command's service view has, on both backends (src/lifecycle/outputs.ts):
 * test/sim checks the launchd backend's outputs against it, test/unit/systemd-backend the
 * systemd backend's.
 */
export const VIEW_KEYS = [
  'backend',
  'scope',
  'unit',
  'unitPath',
  'mainPid',
  'activeState',
  'subState',
  'nRestarts',
  'statusText',
  'endpoint',
  'codexPath',
  'codexVersion',
  'appServerVersion',
  'linger',
  'updater',
  'reason',
  'lastLogLines',
  'service',
  'configError',
  'recordPath',
  'warnings',
  'native',
];
