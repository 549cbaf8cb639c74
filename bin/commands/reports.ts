// `imatch reports`: runs the reports service (reports/) until SIGTERM/SIGINT, then shuts down
// gracefully. Settings from flags and IMATCH_* variables (reports/config.ts).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { ReportsConfig } from '../../reports/config.js';
import { startReports } from '../../reports/server.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('reports')
      .description(
        'Run the reports service: pv, clicks, settlement and corrections into DuckDB (exactly once), report API, live dashboard',
      ),
    ReportsConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(ReportsConfig, { flags, env: process.env });
    const log = createLogger({ name: 'reports', level: config.logLevel as LevelWithSilent });
    const running = await startReports(config, log);
    await closeOnSignal(log, running.close);
  });
}
