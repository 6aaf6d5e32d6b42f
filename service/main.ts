import type { ConfigFlags } from '../src/cli/common.js';
import { loadConfig } from '../src/cli/common.js';
export async function serve(flags: ConfigFlags): Promise<void> {
  loadConfig(flags);
}
