// `imatch start`: the whole engine on this machine on generated demo data (bin/start/start.ts).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { runStart, StartConfig } from '../start/start.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('start')
      .description(
        'Run the whole engine locally: ZooKeeper, Kafka, demo data, index, 2x2 searchers, merger, blender, dispatch, click filter, billing',
      ),
    StartConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(StartConfig, { flags, env: process.env });
    const log = createLogger({ name: 'imatch-start', level: config.logLevel as LevelWithSilent, fd: 2 });
    await runStart(config, log);
  });
}
