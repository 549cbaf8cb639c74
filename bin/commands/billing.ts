// `imatch billing`: runs the billing service (billing/) until SIGTERM/SIGINT, then shuts down
// gracefully. Settings from flags and IMATCH_* variables (billing/config.ts).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { BillingConfig } from '../../billing/config.js';
import { startBilling } from '../../billing/server.js';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('billing')
      .description(
        'Run billing: settlement and corrections into an idempotent ledger, daily budgets, offline/online changes through dispatch',
      ),
    BillingConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(BillingConfig, { flags, env: process.env });
    const log = createLogger({ name: 'billing', level: config.logLevel as LevelWithSilent });
    const running = await startBilling(config, log);
    await closeOnSignal(log, () => running.close());
  });
}
