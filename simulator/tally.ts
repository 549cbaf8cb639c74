// What a simulation run counts, per experiment arm, and the output document it becomes. Owns the
// arithmetic of the report (ctr, revenue per 1,000 queries in integer micros) so it can be
// checked on hand-made numbers. Single-threaded: the run loop updates it between awaits.

/** The arm of an answer that names none (a blender from before experiments ranks by quality). */
export const DEFAULT_ARM = 'quality';

export interface ArmCounts {
  queries: number;
  impressions: number;
  clicks: number;
  /** Sum of the prices of this arm's clicks the click filter redirected (302). */
  costMicros: number;
}

export interface ArmReport extends ArmCounts {
  /** clicks / impressions (0 without impressions). */
  ctr: number;
  /** Revenue per 1,000 queries: round(costMicros x 1000 / queries) (0 without queries). */
  rpmMicros: number;
}

/** The learner's held-out figures as the output shows them. */
export interface LearnerReport {
  examples: number;
  logLoss: number | null;
  auc: number | null;
  normalizedEntropy: number | null;
  calibration: number | null;
}

export class Tally {
  readonly arms = new Map<string, ArmCounts>();
  /** Clicks the click filter did not redirect, by HTTP status ("error" when no answer came). */
  readonly invalidClicks: Record<string, number> = {};
  /** Queries the blender did not answer with 200, by status ("error" when no answer came). */
  readonly failedQueries: Record<string, number> = {};
  queriesSent = 0;
  clicksScheduled = 0;

  /** Makes an arm appear in the report even when it gets no traffic (e.g. every arm of --arms). */
  declare(arm: string): ArmCounts {
    let a = this.arms.get(arm);
    if (a === undefined) {
      a = { queries: 0, impressions: 0, clicks: 0, costMicros: 0 };
      this.arms.set(arm, a);
    }
    return a;
  }

  answer(arm: string | undefined, impressions: number): void {
    const a = this.declare(arm ?? DEFAULT_ARM);
    a.queries++;
    a.impressions += impressions;
  }

  click(arm: string | undefined, status: number | 'error', priceMicros: number): void {
    if (status === 302) {
      const a = this.declare(arm ?? DEFAULT_ARM);
      a.clicks++;
      a.costMicros += priceMicros;
    } else bump(this.invalidClicks, String(status));
  }

  failedQuery(status: number | 'error'): void {
    bump(this.failedQueries, String(status));
  }

  get clicks(): number {
    let n = 0;
    for (const a of this.arms.values()) n += a.clicks;
    return n;
  }

  get costMicros(): number {
    let n = 0;
    for (const a of this.arms.values()) n += a.costMicros;
    return n;
  }

  /** The `arms` section of the output, arms in name order. */
  report(): Record<string, ArmReport> {
    const out: Record<string, ArmReport> = {};
    for (const name of [...this.arms.keys()].sort()) out[name] = armReport(this.arms.get(name)!);
    return out;
  }
}

export function armReport(c: ArmCounts): ArmReport {
  return {
    queries: c.queries,
    impressions: c.impressions,
    clicks: c.clicks,
    ctr: c.impressions === 0 ? 0 : c.clicks / c.impressions,
    costMicros: c.costMicros,
    rpmMicros: c.queries === 0 ? 0 : Math.round((c.costMicros * 1000) / c.queries),
  };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
