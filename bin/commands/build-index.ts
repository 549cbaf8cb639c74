// `imatch build-index --snapshot DIR --columns N [--out DIR] [--publish] [--skip-bad] [--keep N]`:
// the daily full build (index-builder/build.ts). Prints a JSON summary on stdout; logs and the
// progress bar go to stderr. Exit codes: 0 built (and published), 1 failure (bad row, I/O,
// ZooKeeper), 2 bad settings, 130 interrupted (SIGINT/SIGTERM; nothing is left behind).
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import { connectZk } from '../../core/zookeeper.js';
import { buildIndex } from '../../index-builder/build.js';
import { BuildIndexConfig } from '../../index-builder/config.js';
import { barReporter, logReporter, type ProgressReporter } from '../../index-builder/progress.js';
import { pruneVersions } from '../../index-builder/prune.js';
import { publishPointer, readCurrentPointer } from '../../index-builder/publish.js';

class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`build interrupted by ${signal}`);
  }
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('build-index')
      .description(
        'Build an index version from a BP snapshot: one segment per column + manifest (docs/index-format.md)',
      ),
    BuildIndexConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(BuildIndexConfig, { flags, env: process.env });
    const log = createLogger({ name: 'build-index', level: config.logLevel as LevelWithSilent, fd: 2 });
    const outDir = resolve(config.out ?? join(config.dataDir, 'index'));
    const useBar = config.progress === 'bar' || (config.progress === 'auto' && process.stderr.isTTY === true);
    const reporter: ProgressReporter | undefined =
      config.progress === 'off' ? undefined : useBar ? barReporter() : logReporter(log);

    const abort = new AbortController();
    const onSignal = (signal: string) => {
      if (abort.signal.aborted) process.exit(130); // second signal: leave now
      log.warn({ signal }, 'stopping the build; the temp folder is removed');
      abort.abort(new Interrupted(signal));
    };
    const onInt = () => onSignal('SIGINT');
    const onTerm = () => onSignal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      const result = await buildIndex({
        snapshotDir: config.snapshot,
        columns: config.columns,
        outDir,
        skipBad: config.skipBad,
        ...(config.workers !== undefined ? { workers: config.workers } : {}),
        logger: log,
        signal: abort.signal,
        ...(reporter ? { onProgress: (p) => reporter.update(p) } : {}),
      });
      reporter?.stop();
      const { manifest } = result;
      if (Object.keys(manifest.counts.skipped).length > 0) {
        log.warn({ skipped: manifest.counts.skipped, examples: result.skippedExamples }, 'bad rows skipped');
      }
      let published: IndexPointer | undefined;
      let pruned: string[] = [];
      if (config.publish) {
        const zk = await connectZk({
          connect: config.zkConnect,
          sessionTimeoutMs: config.zkSessionTimeoutMs,
          log,
        });
        try {
          const previous = await readCurrentPointer(zk, config.zkRoot);
          published = {
            version: result.version,
            dir: result.dir,
            columns: manifest.columns,
            watermark: manifest.watermark,
            publishedAt: new Date().toISOString(),
          };
          await publishPointer(zk, config.zkRoot, published);
          log.info({ version: result.version, previous: previous?.version }, 'index version published');
          const protect = new Set([result.version]);
          if (previous !== null) protect.add(previous.version);
          pruned = await pruneVersions(outDir, config.keep, protect, log);
        } finally {
          await zk.close();
        }
      } else {
        log.info('not published (no --publish); old versions are pruned only when publishing');
      }
      process.stdout.write(
        `${JSON.stringify({
          version: result.version,
          dir: result.dir,
          columns: manifest.columns,
          watermark: manifest.watermark,
          counts: manifest.counts,
          segments: manifest.segments.map((s) => ({ column: s.column, bytes: s.bytes, offers: s.offers })),
          durationMs: manifest.build.durationMs,
          published: published !== undefined,
          pruned,
          peakRssBytes: process.resourceUsage().maxRSS * 1024,
          // CPU of every thread of this process (main + row workers), microseconds.
          cpuUserUs: process.resourceUsage().userCPUTime,
          cpuSystemUs: process.resourceUsage().systemCPUTime,
        })}\n`,
      );
    } catch (err) {
      reporter?.stop();
      if (err instanceof Interrupted) {
        process.stderr.write(`imatch: build interrupted by ${err.signal}; no version was written\n`);
        process.exitCode = 130;
        return;
      }
      throw err;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      log.flush();
    }
  });
}
