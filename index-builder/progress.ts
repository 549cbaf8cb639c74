// Build progress for people: a cli-progress bar with rate and ETA on a terminal, or a pino line
// every few seconds (and at the end of each phase) when the output is not a terminal.
//
// Concurrency model: called synchronously from the build after each 1 MiB chunk / bucket.
import cliProgress from 'cli-progress';
import type { Logger } from '../core/logger.js';
import type { BuildPhase, BuildProgress } from './build.js';

export interface ProgressReporter {
  update(p: BuildProgress): void;
  stop(): void;
}

const UNITS: Record<BuildPhase, string> = {
  customers: 'MB',
  offers: 'MB',
  bidwords: 'MB',
  segments: 'buckets',
};

function scaled(phase: BuildPhase, n: number): number {
  return phase === 'segments' ? n : Math.round(n / 1e5) / 10;
}

export function barReporter(stream: NodeJS.WritableStream = process.stderr): ProgressReporter {
  let bar: cliProgress.SingleBar | undefined;
  let phase: BuildPhase | undefined;
  let phaseStart = 0;
  return {
    update(p) {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        phaseStart = performance.now();
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `{phase} |{bar}| {percentage}% | {value}/{total} ${UNITS[p.phase]} | {rows} rows, {rate}/s | ETA {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(scaled(p.phase, p.total), 0, { phase: p.phase.padEnd(9), rows: 0, rate: 0 });
      }
      const secs = Math.max(0.001, (performance.now() - phaseStart) / 1000);
      bar!.update(scaled(p.phase, p.done), { rows: p.rows, rate: Math.round(p.rows / secs) });
    },
    stop() {
      bar?.stop();
    },
  };
}

export function logReporter(log: Logger, everyMs = 5000): ProgressReporter {
  let phase: BuildPhase | undefined;
  let phaseStart = 0;
  let lastLog = 0;
  let last: BuildProgress | undefined;
  const emit = (p: BuildProgress) => {
    const secs = Math.max(0.001, (performance.now() - phaseStart) / 1000);
    const fraction = p.total > 0 ? p.done / p.total : 1;
    const etaS = fraction > 0 ? Math.round((secs / fraction) * (1 - fraction)) : null;
    log.info(
      {
        phase: p.phase,
        percent: Math.round(fraction * 1000) / 10,
        rows: p.rows,
        rowsPerSec: Math.round(p.rows / secs),
        etaS,
      },
      'build progress',
    );
    lastLog = performance.now();
  };
  return {
    update(p) {
      if (p.phase !== phase) {
        if (last !== undefined) emit(last);
        phase = p.phase;
        phaseStart = performance.now();
        lastLog = phaseStart;
      }
      last = p;
      if (performance.now() - lastLog >= everyMs) emit(p);
    },
    stop() {
      if (last !== undefined) emit(last);
    },
  };
}
