// Fan-out of one query to every column: one replica per column (the balancer's choice), a
// per-attempt timeout bounded by the query's deadline and adapted to the column's measured
// latency (attempt-timeout.ts), and one retry on another replica of the
// same column when the first attempt fails and the deadline leaves enough time. A column with no
// healthy replica is skipped at once. Never throws: every column ends with an answer or a reason.
//
// Concurrency: all columns are asked at the same time (Promise.all over independent attempts);
// the balancer's bookkeeping is synchronous, so concurrent queries see consistent counters.
import { isImatchError } from '../../core/errors.js';
import type { LostAd } from '../../core/search-contract.js';
import { AttemptTimeouts } from './attempt-timeout.js';
import type { Balancer, Replica } from './balancer.js';
import type { ColumnHit } from './merge.js';

export type ColumnFailure = 'no-replica' | 'timeout' | 'error';

export interface ColumnOutcome {
  column: number;
  /** The column's hits (undefined when it did not answer). */
  hits?: readonly ColumnHit[];
  /** The column's ads lost to budget, when it answered and had any. */
  lostToBudget?: readonly LostAd[] | undefined;
  /** Why it did not answer; for two failed attempts, the last one's reason. */
  failure?: ColumnFailure;
  /** Attempts made (0 when skipped, 2 when retried). */
  attempts: number;
}

export interface FanoutOptions {
  /**
   * The floor of a single attempt's timeout (ms): it grows with the column's recent p99
   * (attempt-timeout.ts); the query's remaining time caps it.
   */
  attemptTimeoutMs: number;
  /** Do not start a retry with less time than this left (ms). */
  minRetryMs: number;
  /** Clock in ms. */
  now?: () => number;
}

/** What the fan-out reports, for metrics and logs. */
export interface FanoutObserver {
  attempt(column: number, replica: Replica, seconds: number, failure?: ColumnFailure, error?: unknown): void;
  retry(column: number): void;
  skipped(column: number, reason: ColumnFailure): void;
}

const NO_OBSERVER: FanoutObserver = { attempt() {}, retry() {}, skipped() {} };

export class Fanout {
  private readonly now: () => number;
  readonly timeouts: AttemptTimeouts;

  constructor(
    private readonly balancer: Balancer,
    private readonly options: FanoutOptions,
    private readonly observer: FanoutObserver = NO_OBSERVER,
  ) {
    this.now = options.now ?? Date.now;
    this.timeouts = new AttemptTimeouts({ floorMs: options.attemptTimeoutMs });
  }

  /** Asks `columns` (column numbers) with the serialized request `body`, all before `deadlineAt` (ms). */
  askAll(columns: readonly number[], body: string, deadlineAt: number): Promise<ColumnOutcome[]> {
    return Promise.all(columns.map((c) => this.askColumn(c, body, deadlineAt)));
  }

  async askColumn(column: number, body: string, deadlineAt: number): Promise<ColumnOutcome> {
    const first = this.balancer.pick(column);
    if (first === undefined) {
      this.observer.skipped(column, 'no-replica');
      return { column, failure: 'no-replica', attempts: 0 };
    }
    const one = await this.attempt(column, first, body, deadlineAt, this.balancer.healthyCount(column) > 1);
    if (one.hits !== undefined)
      return { column, hits: one.hits, lostToBudget: one.lostToBudget, attempts: 1 };
    const second =
      deadlineAt - this.now() >= this.options.minRetryMs ? this.balancer.pick(column, first) : undefined;
    if (second === undefined) {
      this.observer.skipped(column, one.failure);
      return { column, failure: one.failure, attempts: 1 };
    }
    this.observer.retry(column);
    const two = await this.attempt(column, second, body, deadlineAt, false);
    if (two.hits !== undefined)
      return { column, hits: two.hits, lostToBudget: two.lostToBudget, attempts: 2 };
    this.observer.skipped(column, two.failure);
    return { column, failure: two.failure, attempts: 2 };
  }

  private async attempt(
    column: number,
    replica: Replica,
    body: string,
    deadlineAt: number,
    retryPossible: boolean,
  ): Promise<
    | { hits: readonly ColumnHit[]; lostToBudget?: readonly LostAd[] | undefined; failure?: undefined }
    | { hits?: undefined; failure: ColumnFailure }
  > {
    const started = performance.now();
    const timeoutMs = this.timeouts.timeoutMs(column, deadlineAt - this.now(), retryPossible);
    this.balancer.begin(replica);
    const call = replica.client.search(body, timeoutMs);
    void call.settled.then(() => this.balancer.release(replica));
    try {
      const answer = await call.answer;
      this.balancer.report(replica, 'ok');
      const ms = performance.now() - started;
      this.timeouts.observe(column, ms);
      this.observer.attempt(column, replica, ms / 1000);
      return { hits: answer.hits, lostToBudget: answer.lostToBudget };
    } catch (err) {
      const failure: ColumnFailure =
        isImatchError(err) && err.code === 'IM_ERR_UPSTREAM_TIMEOUT' ? 'timeout' : 'error';
      this.balancer.report(replica, failure, err);
      this.observer.attempt(column, replica, (performance.now() - started) / 1000, failure, err);
      return { failure };
    }
  }
}
