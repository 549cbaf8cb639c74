// Progress of a long generator run: a cli-progress bar on stderr when it is a terminal, a pino
// log line every few seconds otherwise (CI, files, pipes), or nothing. Phases run one after
// another; tick() is called from the hot loop, so it only bumps a counter and looks at the
// clock every 1,024 ticks. Wall-clock time is used only here, never in generated data.
import cliProgress from 'cli-progress';
import type { Logger } from '../../core/logger.js';

export type ProgressMode = 'auto' | 'bar' | 'log' | 'none';

export interface Progress {
  /** Starts a phase with `total` units of work (offers, queries, changes). */
  phase(name: string, total: number): void;
  /** Records `n` units done in the current phase. */
  tick(n?: number): void;
  /** Ends the current phase. */
  end(): void;
}

const LOG_EVERY_MS = 5_000;

export function createProgress(mode: ProgressMode, log: Logger, isTty: boolean): Progress {
  const resolved = mode === 'auto' ? (isTty ? 'bar' : 'log') : mode;
  if (resolved === 'none') return { phase() {}, tick() {}, end() {} };
  if (resolved === 'bar') return barProgress();
  return logProgress(log);
}

function barProgress(): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  return {
    phase(name, total) {
      done = 0;
      bar = new cliProgress.SingleBar(
        {
          format: `${name.padEnd(9)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} eta {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(total, 1), 0);
    },
    tick(n = 1) {
      done += n;
      if ((done & 1023) < n) bar?.update(done);
    },
    end() {
      bar?.update(done);
      bar?.stop();
      bar = undefined;
    },
  };
}

function logProgress(log: Logger): Progress {
  let name = '';
  let total = 0;
  let done = 0;
  let started = 0;
  let last = 0;
  return {
    phase(phaseName, phaseTotal) {
      name = phaseName;
      total = phaseTotal;
      done = 0;
      started = last = Date.now();
      log.info({ phase: name, total }, `${name}: started`);
    },
    tick(n = 1) {
      done += n;
      if ((done & 1023) >= n) return;
      const now = Date.now();
      if (now - last < LOG_EVERY_MS) return;
      last = now;
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      log.info({ phase: name, done, total, pct }, `${name}: ${done}/${total} (${pct}%)`);
    },
    end() {
      const seconds = (Date.now() - started) / 1000;
      log.info({ phase: name, done, seconds }, `${name}: done, ${done} in ${seconds.toFixed(1)} s`);
    },
  };
}
