// Attribution: joins each valid click to the impression it came from and turns every shown ad
// into exactly one example, clicked or not. Click ids are `pvId:position` (core/click-records.ts),
// the same key an impression of a PV record has, so the join is one map lookup.
//   - a valid (billable) click on a pending impression makes it a positive at once;
//   - an invalid click (bot, duplicate, too fast, ...) is never a positive and changes nothing;
//   - an impression with no valid click within `windowMs` of its time becomes a negative: a click
//     that comes late, but inside the window, is not lost;
//   - a valid click whose impression has not arrived yet (the PV log lingers before it is sent)
//     waits, up to the window, for its impression.
// Time is event time (the records' own timestamps; `advance` is fed the newest one seen), so a
// replay of the same streams gives the same examples in the same order.
//
// Concurrency: synchronous; one learner owns it.

export interface Example<F> {
  clickId: string;
  clicked: boolean;
  /** What the impression carried (its features, for the learner). */
  impression: F;
  /** Impression time (ms). */
  timeMs: number;
}

export interface AttributionCounts {
  positives: number;
  negatives: number;
  invalidClicks: number;
  /** Valid clicks whose impression never came within the window. */
  orphanClicks: number;
  /** Second valid clicks on an impression already counted positive. */
  repeatClicks: number;
}

interface Pending<F> {
  impression: F;
  timeMs: number;
}

/** Everything an Attribution holds, in arrival order (learner/checkpoint.ts writes it). */
export interface AttributionState<F> {
  pending: [clickId: string, impression: F, timeMs: number][];
  early: [clickId: string, clickedAtMs: number][];
  decided: [clickId: string, timeMs: number][];
  counts: AttributionCounts;
}

export class Attribution<F> {
  private readonly pending = new Map<string, Pending<F>>();
  /** Valid clicks waiting for their impression: click id -> click time. */
  private readonly early = new Map<string, number>();
  /** Recently decided impressions (click id -> impression time), to tell repeats from orphans. */
  private readonly decided = new Map<string, number>();
  readonly counts: AttributionCounts = {
    positives: 0,
    negatives: 0,
    invalidClicks: 0,
    orphanClicks: 0,
    repeatClicks: 0,
  };

  constructor(readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError('windowMs must be > 0');
  }

  /** Impressions waiting for a click or for the window to pass. */
  get waiting(): number {
    return this.pending.size;
  }

  /** One shown ad. Returns a positive at once when a valid click for it was already waiting. */
  impression(clickId: string, impression: F, timeMs: number): Example<F>[] {
    if (this.pending.has(clickId) || this.decided.has(clickId)) return []; // a replayed PV record
    if (this.early.delete(clickId)) {
      this.decided.set(clickId, timeMs);
      this.counts.positives++;
      return [{ clickId, clicked: true, impression, timeMs }];
    }
    this.pending.set(clickId, { impression, timeMs });
    return [];
  }

  /** One click decision; only a valid (billable) one can make a positive. */
  click(clickId: string, valid: boolean, clickedAtMs: number): Example<F>[] {
    if (!valid) {
      this.counts.invalidClicks++;
      return [];
    }
    const p = this.pending.get(clickId);
    if (p !== undefined) {
      this.pending.delete(clickId);
      this.decided.set(clickId, p.timeMs);
      this.counts.positives++;
      return [{ clickId, clicked: true, impression: p.impression, timeMs: p.timeMs }];
    }
    if (this.decided.has(clickId)) {
      this.counts.repeatClicks++;
      return [];
    }
    if (!this.early.has(clickId)) this.early.set(clickId, clickedAtMs);
    return [];
  }

  /** A copy of the state (arrival order kept), for a checkpoint. */
  state(): AttributionState<F> {
    return {
      pending: [...this.pending].map(([id, p]) => [id, p.impression, p.timeMs]),
      early: [...this.early],
      decided: [...this.decided],
      counts: { ...this.counts },
    };
  }

  /** An Attribution that goes on exactly where `state` was taken. */
  static restore<F>(windowMs: number, state: AttributionState<F>): Attribution<F> {
    const a = new Attribution<F>(windowMs);
    for (const [id, impression, timeMs] of state.pending) a.pending.set(id, { impression, timeMs });
    for (const [id, at] of state.early) a.early.set(id, at);
    for (const [id, at] of state.decided) a.decided.set(id, at);
    Object.assign(a.counts, state.counts);
    return a;
  }

  /** Event time moved to `nowMs`: impressions older than the window become negatives, in order. */
  advance(nowMs: number): Example<F>[] {
    const out: Example<F>[] = [];
    const cutoff = nowMs - this.windowMs;
    for (const [clickId, p] of this.pending) {
      if (p.timeMs > cutoff) break; // insertion order is arrival order
      this.pending.delete(clickId);
      this.decided.set(clickId, p.timeMs);
      this.counts.negatives++;
      out.push({ clickId, clicked: false, impression: p.impression, timeMs: p.timeMs });
    }
    for (const [clickId, at] of this.early) {
      if (at > cutoff) break;
      this.early.delete(clickId);
      this.counts.orphanClicks++;
    }
    // Decided ids are kept one more window (replays and repeat clicks arrive within it).
    for (const [clickId, at] of this.decided) {
      if (at > cutoff - this.windowMs) break;
      this.decided.delete(clickId);
    }
    return out;
  }
}
