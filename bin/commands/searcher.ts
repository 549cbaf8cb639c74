// `imatch searcher --column C --replica ID`: runs one searcher replica (services/searcher) until
// SIGTERM/SIGINT, then shuts down gracefully. Settings from flags and IMATCH_* variables
// (services/searcher/config.ts). Logs are JSON lines on stdout (pretty on a terminal).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { SearcherConfig } from '../../services/searcher/config.js';
import { runSearcher } from '../../services/searcher/server.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('searcher')
      .description(
        'Run a searcher replica of one column: loads the current index version, answers POST /search, hot-swaps new versions',
      ),
    SearcherConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(SearcherConfig, { flags, env: process.env });
    const log = createLogger({ name: 'searcher', level: config.logLevel as LevelWithSilent }).child({
      column: config.column,
      replica: config.replica,
    });
    await runSearcher(config, log);
    log.flush();
  });
}
