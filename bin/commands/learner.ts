// `imatch learner`: runs the online click-through learner (learner/) until SIGTERM/SIGINT, then
// stops gracefully (a last checkpoint and model snapshot). Settings from flags and IMATCH_*
// variables (learner/config.ts).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { LearnerConfig } from '../../learner/config.js';
import { startLearner } from '../../learner/server.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('learner')
      .description(
        'Run the online CTR learner: joins clicks to page views, trains FTRL-Proximal, publishes model snapshots in ZooKeeper',
      ),
    LearnerConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(LearnerConfig, { flags, env: process.env });
    const log = createLogger({ name: 'learner', level: config.logLevel as LevelWithSilent });
    const running = await startLearner(config, log);
    await closeOnSignal(log, running.close);
  });
}
