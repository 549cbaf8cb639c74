// Checks the run's revenue against billing's ledger. Billing answers per customer and day
// (GET /v1/spend) and lifetime totals (GET /v1/totals), not per click, so each arm's cost is the
// sum of the prices of its clicks the click filter redirected, and this module checks that the
// sum over arms is exactly what the ledger charged the customers involved during the run:
//   - a customer's spend is read before its first click is sent (baseline) and after the run;
//   - after the run, /v1/totals is polled until the ledger holds as many new clicks as the click
//     filter called billable (or as were redirected, when its /metrics cannot be read);
//   - then every involved customer's increase is summed and compared, to the micro.
// A click the click filter redirected but did not bill (rate limit, too fast, duplicate) makes the
// sums differ: the check fails, and the report names the click filter's reasons.
// Concurrency: baselines are promises kept per customer; a click waits for its customer's.
import type { EngineClient, Spend } from './engine-client.js';

interface Baseline {
  /** Billing's day at the baseline read; undefined when billing knew nothing of the customer. */
  day: string | undefined;
  chargedMicros: number;
}

export interface LedgerCheckResult {
  ok: boolean;
  /** Sum over arms of the redirected clicks' prices. */
  expectedMicros: number;
  /** The involved customers' ledger increase over the run (null when it could not be read). */
  ledgerMicros: number | null;
  customers: number;
  /** New clicks the ledger holds (from /v1/totals, all customers). */
  ledgerClicks: number | null;
  problem?: string;
}

export class LedgerCheck {
  private readonly baselines = new Map<string, Promise<Baseline>>();
  private totalsBefore: { chargedMicros: number; clicks: number } | undefined;

  constructor(private readonly client: EngineClient) {}

  /** Reads the ledger's totals before any traffic. Throws when billing cannot be reached. */
  async start(): Promise<void> {
    const t = await this.client.totals();
    if (!t.ok) throw new Error(`billing /v1/totals answered ${t.status}: ${t.detail}`);
    this.totalsBefore = { chargedMicros: t.value.chargedMicros, clicks: t.value.clicks };
  }

  /** Resolves once the customer's spend before its first click is known (call before each click). */
  baseline(customerId: string): Promise<void> {
    let p = this.baselines.get(customerId);
    if (p === undefined) {
      p = this.client.spend(customerId).then((out) => {
        if (!out.ok) throw new Error(`billing /v1/spend answered ${out.status}: ${out.detail}`);
        return { day: out.value?.day, chargedMicros: out.value?.chargedMicros ?? 0 };
      });
      this.baselines.set(customerId, p);
    }
    return p.then(() => undefined);
  }

  /**
   * Waits until the ledger holds `billableClicks` new clicks or `timeoutMs` passes, then compares
   * the involved customers' increase with `expectedMicros`.
   */
  async finish(
    expectedMicros: number,
    billableClicks: number,
    timeoutMs: number,
  ): Promise<LedgerCheckResult> {
    const deadline = Date.now() + timeoutMs;
    const before = this.totalsBefore!;
    let ledgerClicks: number | null = null;
    for (;;) {
      const t = await this.client.totals();
      if (t.ok) ledgerClicks = t.value.clicks - before.clicks;
      if ((ledgerClicks !== null && ledgerClicks >= billableClicks) || Date.now() >= deadline) break;
      await sleep(500);
    }
    // Another writer may share the ledger: compare per customer, and retry a little while the
    // involved customers' sum still lags (their settlements may trail other customers').
    let result: LedgerCheckResult;
    for (;;) {
      result = await this.compare(expectedMicros, ledgerClicks);
      if (result.ok || Date.now() >= deadline) break;
      await sleep(1_000);
    }
    if (!result.ok && ledgerClicks !== null && ledgerClicks < billableClicks)
      result.problem = `${result.problem ?? ''}; the ledger holds ${ledgerClicks} of ${billableClicks} expected new clicks after ${timeoutMs} ms`;
    return result;
  }

  private async compare(expectedMicros: number, ledgerClicks: number | null): Promise<LedgerCheckResult> {
    const entries = [...this.baselines.entries()];
    let increase = 0;
    try {
      const deltas = await mapLimit(entries, 16, async ([customerId, p]) => {
        const base = await p;
        const now = await this.read(customerId);
        // Billing's day changed since the baseline: the clicks after midnight are on the new day,
        // whose spend was 0 at the baseline (it had not begun).
        let after = 0;
        if (base.day === undefined || now === undefined || now.day === base.day)
          after = now?.chargedMicros ?? 0;
        else {
          const old = await this.read(customerId, base.day);
          after = (old?.chargedMicros ?? 0) + now.chargedMicros;
        }
        return after - base.chargedMicros;
      });
      for (const d of deltas) increase += d;
    } catch (err) {
      return {
        ok: false,
        expectedMicros,
        ledgerMicros: null,
        customers: entries.length,
        ledgerClicks,
        problem: `could not read the ledger: ${(err as Error).message}`,
      };
    }
    const ok = increase === expectedMicros;
    return {
      ok,
      expectedMicros,
      ledgerMicros: increase,
      customers: entries.length,
      ledgerClicks,
      ...(ok
        ? {}
        : {
            problem: `the ledger charged the ${entries.length} customers clicked ${increase} micros during the run, the redirected clicks' prices add up to ${expectedMicros}`,
          }),
    };
  }

  private async read(customerId: string, day?: string): Promise<Spend | undefined> {
    const out = await this.client.spend(customerId, day);
    if (!out.ok) throw new Error(`billing /v1/spend answered ${out.status}: ${out.detail}`);
    return out.value;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
