// The one way to launch the engine's processes: the command line of `imatch <command>` built from
// the command's own typed settings (the same keys as its config schema: `zkConnect` becomes
// `--zk-connect`), so `imatch start`, the test helpers and the benches cannot drift from the flags
// a service really has. A wrong key or value type is a compile error, not a process that exits.
//
// Pure: builds arrays of strings; spawning is the caller's (bin/start/supervisor.ts,
// test/helpers/spawn.ts).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Static } from '@sinclair/typebox';
import type { BillingConfig } from '../../billing/config.js';
import type { ClickFilterConfig } from '../../click-filter/config.js';
import { flagName } from '../../core/config.js';
import type { DispatchConfig } from '../../dispatch/config.js';
import type { LearnerConfig } from '../../learner/config.js';
import type { ReportsConfig } from '../../reports/config.js';
import type { BlenderConfig } from '../../services/blender/config.js';
import type { MergerConfig } from '../../services/merger/config.js';
import type { SearcherConfig } from '../../services/searcher/config.js';

/** The settings of each service command. */
export interface ServiceSettingsOf {
  searcher: Static<typeof SearcherConfig>;
  merger: Static<typeof MergerConfig>;
  blender: Static<typeof BlenderConfig>;
  dispatch: Static<typeof DispatchConfig>;
  'click-filter': Static<typeof ClickFilterConfig>;
  billing: Static<typeof BillingConfig>;
  learner: Static<typeof LearnerConfig>;
  reports: Static<typeof ReportsConfig>;
}

export type ServiceCommand = keyof ServiceSettingsOf;

type Value = string | number | boolean | readonly string[] | undefined;

/** `imatch <command>`'s arguments for these settings (undefined ones left out). */
export function commandLine<C extends ServiceCommand>(
  command: C,
  settings: { [K in keyof ServiceSettingsOf[C]]?: ServiceSettingsOf[C][K] | undefined },
): string[] {
  const args: string[] = [command];
  for (const [key, value] of Object.entries(settings) as [string, Value][]) {
    if (value === undefined) continue;
    args.push(`--${flagName(key)}`, Array.isArray(value) ? value.join(',') : String(value));
  }
  return args;
}

/** The CLI entry (bin/imatch.js) next to this module, built or not. */
export const IMATCH_JS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'imatch.js');
