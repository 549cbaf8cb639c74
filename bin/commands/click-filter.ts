// `imatch click-filter`: runs one click-filter instance (click-filter/) until SIGTERM/SIGINT, then
// shuts down gracefully. Settings from flags and IMATCH_* variables (click-filter/config.ts);
// thresholds and block lists also from ZooKeeper's config/click-filter while running.
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { ClickFilterConfig } from '../../click-filter/config.js';
import { startClickFilter } from '../../click-filter/server.js';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('click-filter')
      .description(
        'Run a click filter: GET /c/<token> verifies the click token, applies the filter rules, logs every decision to Kafka and redirects',
      ),
    ClickFilterConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(ClickFilterConfig, { flags, env: process.env });
    const log = createLogger({ name: 'click-filter', level: config.logLevel as LevelWithSilent });
    const running = await startClickFilter(config, log);
    await closeOnSignal(log, () => running.close());
  });
}
