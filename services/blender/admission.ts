// Admission control for the public query API: at most `limit` ad requests are being answered at
// once; one more is refused at once with 503 + Retry-After instead of queueing.
// Why: past the engine's peak, every queued request waits behind all the others, so queueing only
// turns overload into seconds of latency for every caller (and timeouts upstream). Refusing the
// excess immediately keeps the requests it does take at their normal latency, and when the load
// drops nothing is left queued, so latency is back to normal at once. Every hop behind the blender
// is bounded by the limit too (one merge per admitted request, at most two searcher attempts per
// column per merge).
//
// The limit adapts (additive increase, multiplicative decrease, as TCP's congestion window):
// every `windowMs` in which the limit was reached, when the admitted requests of the window took
// `targetMs` or more on average, the limit shrinks to 3/4 (not below `minLimit`): the engine is
// past the point where more concurrency buys throughput, only latency; when they were faster, it
// grows by one (not above `maxLimit`), or by an eighth when they took under half the target. A
// window that never reached the limit and was fast moves it a quarter of the way back toward
// twice the most requests the window had in flight, but not below `headroom` (half of `maxLimit`
// by default): the overload is over, and the limit stays near what the traffic uses. One that
// was slow leaves it alone: slow answers at low concurrency are not overload. A fixed limit right for one machine and data set
// is wrong for the next; this one finds the concurrency the engine can answer in time.
//
// Why the limit follows what is used: a limit left at its maximum while traffic was light let
// the first 100 ms of a jump to twice the peak admit a whole wave of `maxLimit` requests at once,
// which then took 50-90 ms to answer (BENCHMARKS.md, "Late evening of 2026-12-07").
//
// Why a target of 20 ms by default: the limit holds the admitted requests' average near the
// target, and their p99 comes out at about twice it. At 25 ms the 200s' p99 at twice the peak
// was 53-60 ms; at 20 ms, 43-49 ms, with as many answered a second and no refusal at half of peak
// (bench/query-path, alternating runs, BENCHMARKS.md "Night of 2026-12-08"). The closed-loop
// peak is reached at 32 in flight with about 12 ms answers, under either target.
//
// A pause is not overload: above the limit, up to `maxLimit`, a request is still admitted while
// the arrivals are steady (an exponentially decayed count of them with a 25 ms time constant at
// most 1.25x what the average rate brings in that time, plus two) and nothing was refused for
// `calmMs`. When the engine behind the blender stalls (a GC, a slow column, a CPU spike), the
// requests of a steady rate pile up in flight for some tens of ms and are then answered;
// refusing them is a 503 the engine did not need to give. A jump in the rate (four times the
// rate crosses 1.25x within about 3 ms) or any refusal ends it, so overload is refused at the
// adaptive limit as before: at the jump to twice the peak, 0 requests came in above the limit
// in five bench runs and 7 in a sixth. What it cannot tell from a jump: a stall of the blender
// itself longer than about 20 ms, after which the requests that waited in the kernel come in at
// once. With a 100 ms constant such bunches read as steady, but a jump then let a wave of 32 in
// above the limit in two of three runs, the wave the headroom above is there to prevent
// (BENCHMARKS.md, "Morning of 2026-12-08").
//
// Concurrency: one event loop; tryEnter/leave are synchronous counters.

export interface AdmissionOptions {
  /** Most requests in flight, ever (the configured maxInFlight). */
  maxLimit: number;
  /** Fewest the adaptive limit goes down to (default min(4, maxLimit)). */
  minLimit?: number;
  /** Average latency of admitted requests above which the limit shrinks (ms; default 20). */
  targetMs?: number;
  /** Adaptation period (ms; default 100). */
  windowMs?: number;
  /**
   * Lowest limit an unused limit settles at (default half of maxLimit, 32 for the default 64):
   * room for a burst at light load (a pause somewhere lets requests pile up, or answers are slow
   * without overload, e.g. a column cut off for the merger's deadline) without a 503. An operator
   * who raises maxLimit for slow answers raises it too.
   */
  headroom?: number;
  /**
   * After a refusal, how long no request is admitted above the limit (ms; default 1,000): the
   * allowance for a stall at a steady rate is for calm times only.
   */
  calmMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Recent arrivals above this multiple of what the average rate brings are a jump, not a steady rate. */
const STEADY_RATIO = 1.25;
/** ... plus this many, for the randomness of arrivals at a low rate. */
const STEADY_SLACK = 2;
/** Time constant of the recent-arrivals count (ms). */
const RECENT_MS = 25;
/** Weight of the newest window in the average arrival rate (about four windows). */
const RATE_WEIGHT = 0.25;

export class Admission {
  private current = 0;
  private refusedTotal = 0;
  private overLimitTotal = 0;
  private readonly calmMs: number;
  /** When a request was last refused (ms; -Infinity: never). */
  private lastRefusalAt = Number.NEGATIVE_INFINITY;
  /** Arrivals (tryEnter calls) a ms, averaged over recent windows; 0 until one window closed. */
  private arrivalRate = 0;
  private windowArrivals = 0;
  /** Arrivals counted with exponential decay (time constant RECENT_MS), as of `recentAt`. */
  private recentArrivals = 0;
  private recentAt = 0;
  private limitNow: number;
  private readonly minLimit: number;
  private readonly targetMs: number;
  private readonly windowMs: number;
  private readonly headroom: number;
  private readonly now: () => number;
  private windowStart: number;
  private windowSumMs = 0;
  private windowCount = 0;
  private windowPeak = 0;

  constructor(private readonly options: AdmissionOptions) {
    this.minLimit = Math.min(options.minLimit ?? 4, options.maxLimit);
    this.targetMs = options.targetMs ?? 20;
    this.windowMs = options.windowMs ?? 100;
    this.headroom = Math.max(
      this.minLimit,
      Math.min(options.headroom ?? Math.ceil(options.maxLimit / 2), options.maxLimit),
    );
    this.calmMs = options.calmMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.limitNow = options.maxLimit;
    this.windowStart = this.now();
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.current;
  }

  /** Requests refused so far. */
  get refused(): number {
    return this.refusedTotal;
  }

  /** The limit in force now. */
  get limit(): number {
    return this.limitNow;
  }

  /** Requests admitted above the limit so far (a stall at a steady rate). */
  get overLimit(): number {
    return this.overLimitTotal;
  }

  /** Takes a place for one request; false (and counted) when all places are taken. */
  tryEnter(): boolean {
    const now = this.now();
    this.windowArrivals++;
    this.recentArrivals = this.recentArrivals * Math.exp((this.recentAt - now) / RECENT_MS) + 1;
    this.recentAt = now;
    if (this.current >= this.limitNow) {
      if (!this.stalledAtSteadyRate(now)) {
        this.refusedTotal++;
        this.lastRefusalAt = now;
        this.windowPeak = this.current;
        return false;
      }
      this.overLimitTotal++;
    }
    this.current++;
    if (this.current > this.windowPeak) this.windowPeak = this.current;
    return true;
  }

  /** At the limit: may one more come in anyway (calm, steady arrivals, below maxLimit)? */
  private stalledAtSteadyRate(now: number): boolean {
    if (this.current >= this.options.maxLimit || this.arrivalRate === 0) return false;
    if (now - this.lastRefusalAt < this.calmMs) return false;
    return this.recentArrivals <= STEADY_RATIO * this.arrivalRate * RECENT_MS + STEADY_SLACK;
  }

  /** Gives back the place taken by a successful tryEnter(); `tookMs`: how long the request took. */
  leave(tookMs: number): void {
    if (this.current > 0) this.current--;
    this.windowSumMs += tookMs;
    this.windowCount++;
    const now = this.now();
    if (now - this.windowStart < this.windowMs) return;
    const average = this.windowSumMs / this.windowCount;
    // Only a window that reached the limit says anything about it: slow answers at low
    // concurrency (a GC pause, a neighbour on the machine) are not overload, and shrinking the
    // limit then would refuse requests the engine could answer.
    if (this.windowPeak >= this.limitNow) {
      if (average >= this.targetMs) this.limitNow = Math.max(this.minLimit, Math.floor(this.limitNow * 0.75));
      else {
        // Well under the target, the engine has room: grow faster than one a window.
        const step = average < this.targetMs / 2 ? Math.max(1, Math.floor(this.limitNow / 8)) : 1;
        this.limitNow = Math.min(this.options.maxLimit, this.limitNow + step);
      }
    } else if (average < this.targetMs) {
      // Below the limit and fast: any overload is over. Move a quarter of the way toward twice the
      // use (at least `headroom`): up after an overload shrank it (8 -> 31 in about a second;
      // a limit stuck low gave 503s at half of peak after a GC pause), down when it sat unused.
      const goal = Math.min(this.options.maxLimit, Math.max(this.headroom, 2 * this.windowPeak));
      const gap = goal - this.limitNow;
      if (gap !== 0) this.limitNow += Math.sign(gap) * Math.max(1, Math.floor(Math.abs(gap) / 4));
    }
    const rate = this.windowArrivals / (now - this.windowStart);
    this.arrivalRate =
      this.arrivalRate === 0 ? rate : this.arrivalRate + RATE_WEIGHT * (rate - this.arrivalRate);
    this.windowArrivals = 0;
    this.windowStart = now;
    this.windowSumMs = 0;
    this.windowCount = 0;
    this.windowPeak = this.current;
  }
}
