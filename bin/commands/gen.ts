// `imatch gen`: writes a deterministic, realistic BP data set (snapshot, query log, change
// stream) into --out; bench/gen/ does the work and docs/data-format.md describes the files.
// Settings from flags and IMATCH_* variables (bench/gen/config.ts). Progress and logs go to
// stderr; the final summary (counts, bytes, sha256 per file, seconds, peak RSS) is one JSON line
// on stdout.
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { GenConfig } from '../../bench/gen/config.js';
import { generate } from '../../bench/gen/generate.js';
import { createProgress } from '../../bench/gen/progress.js';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('gen')
      .description(
        'Generate a BP data set: customers/offers/bidwords.jsonl + snapshot.json, queries.jsonl, changes.jsonl',
      )
      .addHelpText(
        'after',
        '\nExample: imatch gen --out data/bp-1m --offers 1000000 --seed 42\nFormat: docs/data-format.md',
      ),
    GenConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(GenConfig, { flags, env: process.env });
    const log = createLogger({ name: 'gen', level: config.logLevel as LevelWithSilent, fd: 2 });
    const progress = createProgress(config.progress, log, process.stderr.isTTY === true);
    const summary = await generate({
      out: config.out,
      offers: config.offers,
      seed: config.seed,
      queries: config.queries,
      changes: config.changes,
      ...(config.customers === undefined ? {} : { customers: config.customers }),
      ...(config.takenAt === undefined ? {} : { takenAt: config.takenAt }),
      progress,
      log,
    });
    const c = summary.counts;
    process.stderr.write(
      `imatch gen: ${c.customers} customers, ${c.offers} offers, ${c.bidwords} bidwords, ` +
        `${c.queries} queries, ${c.changes} changes; ${(summary.totalBytes / 1e6).toFixed(1)} MB ` +
        `in ${summary.seconds} s, peak RSS ${summary.maxRssMb} MB -> ${summary.out}\n`,
    );
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    log.flush();
  });
}
