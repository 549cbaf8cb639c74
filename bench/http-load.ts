// A bounded, self-stopping HTTP load generator for the benchmarks (an autocannon-like loop on
// undici). Two modes:
//   closed loop: `concurrency` workers, each sends its next request when the previous answered
//                (finds peak throughput when concurrency is ramped);
//   open loop:   requests start at a fixed `rate` whatever the answers do, and latency is measured
//                from the moment each request was DUE, so a stalled server shows up in the tail
//                instead of silently slowing the generator (no coordinated omission).
// Latencies go into an HDR histogram (microseconds). Every run stops by itself after warmup +
// duration and closes its pool.
//
// Concurrency: one event loop; workers interleave at awaits. The generator shares the machine's
// CPUs with the system under test, which is why both chains of a comparison run under the same
// generator in the same run.
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

export interface LoadOptions {
  /**
   * Origin, e.g. http://127.0.0.1:8080; or several (processes of one tier on their own ports, as
   * a load balancer would spread them): the connections are split evenly, requests go round robin.
   */
  origin: string | readonly string[];
  /** Request paths, used round robin (e.g. /v1/ads?q=... from a query log). */
  paths: readonly string[];
  /** POST these JSON bodies round robin (to paths[i]) instead of GET. */
  bodies?: readonly string[];
  /** Closed loop: workers. Open loop: connections (and the cap of requests in flight x 4). */
  concurrency: number;
  /** Open loop when set: requests per second. */
  rate?: number;
  /**
   * Open loop with a rate that changes: after the warmup (at `rate`), each phase in turn for its
   * duration; `durationMs` is then the phases' sum. For overload runs (2x peak, then back down).
   */
  phases?: readonly { durationMs: number; rate: number }[];
  /** Keep every measured request's due time (ms from the measured start), latency and status. */
  timeline?: boolean;
  durationMs: number;
  /** Not measured, same load (JIT, pools, caches). */
  warmupMs?: number;
  /** A request slower than this counts as an error (ms). */
  timeoutMs?: number;
  /** Text in a 200 body that counts as "degraded" (e.g. '"degraded":true'). */
  degradedMarker?: string;
  /** Called when the warmup ends and measuring starts (e.g. to snapshot CPU counters). */
  onMeasureStart?: () => void;
  /**
   * With `phases`: called as phase `index` starts (0 = the first, when measuring starts too) and
   * with `index` = phases.length when the last one ends, to snapshot server counters per phase.
   */
  onPhase?: (index: number) => void;
  /**
   * Before anything is measured or timed: open every connection of the pool (`concurrency` GETs
   * of this path at once, e.g. /healthz), as a front end's pool to the engine would be open, so
   * a jump in the rate later is not also a storm of new connections.
   */
  preconnectPath?: string;
}

export interface LoadResult {
  mode: 'closed' | 'open';
  concurrency: number;
  rate?: number;
  seconds: number;
  requests: number;
  /** Transport errors, timeouts and non-200 answers. */
  errors: number;
  statuses: Record<string, number>;
  degraded: number;
  /** Open loop: requests not started because too many were in flight (the server fell behind). */
  shed: number;
  /** Answers with status 200 per second (goodput: errors are not throughput). */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Latency of the 200 answers only. */
  okP50Ms: number;
  okP99Ms: number;
  /**
   * With `timeline`: [due ms from the measured start, latency ms from the due time, status, how
   * late this generator sent it (ms after its due time)] per measured request.
   */
  timeline?: TimelineEntry[];
}

/** One measured request: [due ms from the measured start, latency ms from due, status, send lag ms]. */
export type TimelineEntry = [number, number, string, number];

/** p99 (ms) of the 200 answers due in each window of `windowMs` (timeline from runLoad). */
export function p99ByWindow(
  timeline: readonly TimelineEntry[],
  windowMs: number,
): { fromMs: number; ok: number; refused: number; p99Ms: number }[] {
  const out: { fromMs: number; ok: number; refused: number; p99Ms: number }[] = [];
  const byWindow = new Map<number, { lat: number[]; refused: number }>();
  for (const [due, ms, status] of timeline) {
    const w = Math.floor(due / windowMs);
    let b = byWindow.get(w);
    if (b === undefined) {
      b = { lat: [], refused: 0 };
      byWindow.set(w, b);
    }
    if (status === '200') b.lat.push(ms);
    else b.refused++;
  }
  for (const w of [...byWindow.keys()].sort((a, b) => a - b)) {
    const b = byWindow.get(w)!;
    b.lat.sort((x, y) => x - y);
    const p99 = b.lat.length === 0 ? 0 : b.lat[Math.min(b.lat.length - 1, Math.floor(b.lat.length * 0.99))]!;
    out.push({ fromMs: w * windowMs, ok: b.lat.length, refused: b.refused, p99Ms: round(p99) });
  }
  return out;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
const JSON_HEADERS = { 'content-type': 'application/json' };

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const origins = typeof options.origin === 'string' ? [options.origin] : options.origin;
  const perPool = Math.max(1, Math.ceil(options.concurrency / origins.length));
  const pools = origins.map(
    (origin) =>
      new Pool(origin, {
        connections: perPool,
        pipelining: 1,
        keepAliveTimeout: 10_000,
      }),
  );
  if (options.preconnectPath !== undefined) {
    const path = options.preconnectPath;
    await Promise.all(
      pools.flatMap((pool) =>
        Array.from({ length: perPool }, () =>
          pool.request({ path, method: 'GET' }).then((r) => r.body.dump()),
        ),
      ),
    );
  }
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const okHistogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const timeline: TimelineEntry[] | undefined = options.timeline ? [] : undefined;
  const statuses: Record<string, number> = {};
  const timeoutMs = options.timeoutMs ?? 10_000;
  const marker = options.degradedMarker;
  let requests = 0;
  let errors = 0;
  let degraded = 0;
  let shed = 0;
  let next = 0;
  let measuring = false;

  const one = async (dueNs: bigint): Promise<void> => {
    const sentNs = process.hrtime.bigint();
    const i = next++;
    const path = options.paths[i % options.paths.length]!;
    const body = options.bodies?.[i % options.bodies.length];
    let status = 'error';
    let isDegraded = false;
    try {
      const res = await pools[i % pools.length]!.request(
        body === undefined
          ? { path, method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs }
          : {
              path,
              method: 'POST',
              headers: JSON_HEADERS,
              body,
              headersTimeout: timeoutMs,
              bodyTimeout: timeoutMs,
            },
      );
      status = String(res.statusCode);
      if (marker !== undefined) isDegraded = (await res.body.text()).includes(marker);
      else await res.body.dump();
    } catch {
      status = 'error';
    }
    if (!measuring) return;
    const us = Number((process.hrtime.bigint() - dueNs) / 1000n);
    histogram.recordValue(Math.max(1, us));
    if (status === '200') okHistogram.recordValue(Math.max(1, us));
    timeline?.push([Number(dueNs - measureFromNs) / 1e6, us / 1000, status, Number(sentNs - dueNs) / 1e6]);
    requests++;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== '200') errors++;
    else if (isDegraded) degraded++;
  };

  const warmupMs = options.warmupMs ?? 0;
  const phases = options.phases ?? [];
  const durationMs =
    phases.length === 0 ? options.durationMs : phases.reduce((sum, p) => sum + p.durationMs, 0);
  const startNs = process.hrtime.bigint();
  const measureFromNs = startNs + BigInt(warmupMs) * 1_000_000n;
  const endNs = measureFromNs + BigInt(durationMs) * 1_000_000n;
  const markTimer = setTimeout(() => {
    measuring = true;
    options.onMeasureStart?.();
  }, warmupMs);
  const phaseTimers: NodeJS.Timeout[] = [];
  /** Phase starts reported so far (onPhase is called once per index, in order). */
  let phasesReported = 0;
  if (options.onPhase !== undefined) {
    const onPhase = options.onPhase;
    let at = warmupMs;
    for (let i = 0; i <= phases.length; i++) {
      phaseTimers.push(
        setTimeout(() => {
          phasesReported = i + 1;
          onPhase(i);
        }, at),
      );
      at += phases[i]?.durationMs ?? 0;
    }
  }

  if (options.rate === undefined) {
    const worker = async () => {
      while (process.hrtime.bigint() < endNs) await one(process.hrtime.bigint());
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } else {
    const rate = options.rate;
    // Requests due by `ms` after the start, and the due time of request number `i` (ms), over the
    // warmup at `rate` followed by the phases.
    const segments: { fromMs: number; durationMs: number; rate: number; before: number }[] = [];
    let fromMs = 0;
    let before = 0;
    for (const seg of [{ durationMs: warmupMs, rate }, ...phases]) {
      segments.push({ fromMs, durationMs: seg.durationMs, rate: seg.rate, before });
      fromMs += seg.durationMs;
      before += (seg.durationMs / 1000) * seg.rate;
    }
    if (phases.length === 0) segments.push({ fromMs, durationMs: Number.POSITIVE_INFINITY, rate, before });
    const dueBy = (ms: number): number => {
      for (const g of segments)
        if (ms < g.fromMs + g.durationMs) return Math.floor(g.before + ((ms - g.fromMs) / 1000) * g.rate);
      return Math.floor(before);
    };
    const dueAtMs = (i: number): number => {
      for (const g of segments) {
        const inSeg = (g.durationMs / 1000) * g.rate;
        if (i < g.before + inSeg || g === segments[segments.length - 1])
          return g.fromMs + ((i - g.before) / g.rate) * 1000;
      }
      return fromMs;
    };
    const maxInFlight = options.concurrency * 4;
    let inFlight = 0;
    let sent = 0;
    const pending = new Set<Promise<void>>();
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = process.hrtime.bigint();
        if (now >= endNs) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = dueBy(Number(now - startNs) / 1e6);
        while (sent < due) {
          const dueNs = startNs + BigInt(Math.round(dueAtMs(sent) * 1e6));
          sent++;
          if (inFlight >= maxInFlight) {
            if (measuring) shed++;
            continue;
          }
          inFlight++;
          const p = one(dueNs).finally(() => {
            inFlight--;
            pending.delete(p);
          });
          pending.add(p);
        }
      };
      const timer = setInterval(tick, 1);
    });
    await Promise.all(pending);
  }
  clearTimeout(markTimer);
  for (const t of phaseTimers) clearTimeout(t);
  // A timer due at the very end may not have fired before the loop stopped.
  if (options.onPhase !== undefined) for (let i = phasesReported; i <= phases.length; i++) options.onPhase(i);
  await Promise.all(pools.map((p) => p.close()));

  const seconds = durationMs / 1000;
  const result: LoadResult = {
    mode: options.rate === undefined ? 'closed' : 'open',
    concurrency: options.concurrency,
    seconds,
    requests,
    errors,
    statuses,
    degraded,
    shed,
    rps: Math.round((requests - errors) / seconds),
    p50Ms: round(histogram.getValueAtPercentile(50) / 1000),
    p90Ms: round(histogram.getValueAtPercentile(90) / 1000),
    p99Ms: round(histogram.getValueAtPercentile(99) / 1000),
    p999Ms: round(histogram.getValueAtPercentile(99.9) / 1000),
    maxMs: round(histogram.maxValue / 1000),
    okP50Ms: round(okHistogram.getValueAtPercentile(50) / 1000),
    okP99Ms: round(okHistogram.getValueAtPercentile(99) / 1000),
  };
  if (options.rate !== undefined) result.rate = options.rate;
  if (timeline !== undefined) result.timeline = timeline;
  histogram.destroy();
  okHistogram.destroy();
  return result;
}

export interface RampOptions extends Omit<LoadOptions, 'concurrency' | 'rate'> {
  /** Concurrency steps, e.g. [4, 8, 16, 32, 64]. */
  steps: readonly number[];
  /** Stop ramping when a step gains less than this fraction over the best so far (default 0.03). */
  minGain?: number;
  onStep?: (result: LoadResult) => void;
}

/** Closed-loop ramp: the step with the highest throughput is the peak. */
export async function findPeak(options: RampOptions): Promise<{ peak: LoadResult; steps: LoadResult[] }> {
  const steps: LoadResult[] = [];
  let peak: LoadResult | undefined;
  let flat = 0;
  for (const concurrency of options.steps) {
    const r = await runLoad({ ...options, concurrency });
    steps.push(r);
    options.onStep?.(r);
    if (peak === undefined || r.rps > peak.rps * (1 + (options.minGain ?? 0.03))) {
      peak = r;
      flat = 0;
    } else if (++flat >= 2) {
      break;
    }
    if (peak !== undefined && r.rps > peak.rps) peak = r;
  }
  return { peak: peak!, steps };
}
