// `imatch dispatch --secret S`: runs one dispatch instance (dispatch/) until SIGTERM/SIGINT, then
// shuts down gracefully. Settings from flags and IMATCH_* variables (dispatch/config.ts; the
// secret is best given as IMATCH_SECRET so it does not show in the process list). Prints
// {"service":"dispatch","id":...,"url":...} on stdout once listening; logs go to stderr.

import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { DispatchConfig } from '../../dispatch/config.js';
import { startDispatch } from '../../dispatch/server.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('dispatch')
      .description(
        'Run a dispatch instance: POST /v1/changes from the BP, unique increasing message ids from ZooKeeper, durable in Kafka before the answer',
      ),
    DispatchConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(DispatchConfig, { flags, env: process.env });
    const log = createLogger({ name: 'dispatch', level: config.logLevel as LevelWithSilent, fd: 2 });
    const dispatch = await startDispatch(config, log);
    process.stdout.write(`${JSON.stringify({ service: 'dispatch', id: dispatch.id, url: dispatch.url })}\n`);
    await closeOnSignal(log, () => dispatch.close());
  });
}
