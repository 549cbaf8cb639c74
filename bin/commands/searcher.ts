// `imatch searcher --column C --replica ID`: runs one searcher replica (services/searcher) until
// SIGTERM/SIGINT, then shuts down gracefully. Settings from flags and IMATCH_* variables
// (services/searcher/config.ts). Logs are JSON lines on stdout (pretty on a terminal).
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { SearcherConfig } from '../../services/searcher/config.js';
import { startSearcher } from '../../services/searcher/server.js';
import { closeOnSignal } from '../until-signal.js';

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
    const searcher = await startSearcher(config, log);
    await closeOnSignal(log, () => searcher.close());
    // A version load still running in the background (its file stream) would keep the process
    // alive after a graceful stop; nothing else needs the event loop any more.
    setTimeout(() => process.exit(), 1000).unref();
  });
}
