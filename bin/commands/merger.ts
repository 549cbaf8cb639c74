// `imatch merger`: runs one merger (services/merger) until SIGTERM/SIGINT, then shuts down
// gracefully. Settings from flags and IMATCH_* variables (services/merger/config.ts). Prints the
// merger's URL on stdout once it is registered, logs go to stderr when stdout is not a terminal.

import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { MergerConfig } from '../../services/merger/config.js';
import { startMerger } from '../../services/merger/server.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('merger')
      .description(
        'Run a merger: fans each query out to one searcher replica per column, merges, CDistinct, sorts (POST /merge)',
      ),
    MergerConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(MergerConfig, { flags, env: process.env });
    const log = createLogger({ name: 'merger', level: config.logLevel as LevelWithSilent, fd: 2 });
    const merger = await startMerger(config, log);
    process.stdout.write(`${JSON.stringify({ service: 'merger', id: merger.id, url: merger.url })}\n`);
    await closeOnSignal(log, () => merger.close());
  });
}
