// Admission control for the public query API: at most `maxInFlight` ad requests are being
// answered at once; one more is refused at once with 503 + Retry-After instead of queueing.
// Why: past the engine's peak, every queued request waits behind all the others, so queueing only
// turns overload into seconds of latency for every caller (and timeouts upstream). Refusing the
// excess immediately keeps the requests it does take at their normal latency, and the caller can
// go elsewhere or come back; when the load drops, nothing is left queued, so latency is back to
// normal at once. Every hop behind the blender is bounded by this limit too (one merge per
// admitted request, at most two searcher attempts per column per merge).
//
// Concurrency: one event loop; tryEnter/leave are synchronous counters.

export class Admission {
  private current = 0;
  private refusedTotal = 0;

  constructor(readonly maxInFlight: number) {}

  /** Requests being answered now. */
  get inFlight(): number {
    return this.current;
  }

  /** Requests refused so far. */
  get refused(): number {
    return this.refusedTotal;
  }

  /** Takes a place for one request; false (and counted) when all places are taken. */
  tryEnter(): boolean {
    if (this.current >= this.maxInFlight) {
      this.refusedTotal++;
      return false;
    }
    this.current++;
    return true;
  }

  /** Gives back the place taken by a successful tryEnter(). */
  leave(): void {
    if (this.current > 0) this.current--;
  }
}
