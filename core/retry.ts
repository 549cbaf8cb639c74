// The one retry policy for work that must eventually succeed in the background (create a Kafka
// topic, start a consumer, register in ZooKeeper): exponential backoff with full jitter, capped,
// until it succeeds or the caller aborts. The first failure and then every `logEvery`-th is
// reported, so an outage of minutes does not flood the log.
//
// Concurrency: one attempt at a time; the wait between attempts ends at once on abort.
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Wait after the first failure (ms); default 250. */
  initialMs?: number;
  /** Longest wait between attempts (ms); default 5000. */
  maxMs?: number;
  /** Growth per failure; default 2. */
  factor?: number;
}

/**
 * The wait before attempt `attempt + 1` after `attempt + 1` failures: a uniformly random share
 * ("full jitter") of min(maxMs, initialMs x factor^attempt), so instances that failed together do
 * not retry together.
 */
export function backoffMs(
  attempt: number,
  policy: BackoffPolicy = {},
  random: () => number = Math.random,
): number {
  const initial = policy.initialMs ?? 250;
  const max = policy.maxMs ?? 5000;
  const ceiling = Math.min(max, initial * (policy.factor ?? 2) ** Math.min(attempt, 64));
  return Math.round(ceiling * random());
}

export interface RetryOptions extends BackoffPolicy {
  /** Stops retrying (and waiting) when aborted; retryUntil then resolves undefined. */
  signal?: AbortSignal;
  /** Called with the failure, the attempt number (0-based) and the wait before the next one. */
  onError?: (err: unknown, attempt: number, waitMs: number) => void;
  /** Report every this many failures after the first (default 10). */
  logEvery?: number;
  random?: () => number;
}

/** Runs `attempt` until it resolves (its value) or `signal` aborts (undefined). */
export async function retryUntil<T>(
  attempt: (n: number) => Promise<T>,
  o: RetryOptions = {},
): Promise<T | undefined> {
  const every = o.logEvery ?? 10;
  const aborted = () => o.signal?.aborted === true;
  for (let n = 0; !aborted(); n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (aborted()) return undefined;
      const wait = backoffMs(n, o, o.random);
      if (n === 0 || n % every === 0) o.onError?.(err, n, wait);
      await sleep(wait, undefined, o.signal === undefined ? {} : { signal: o.signal }).catch(() => undefined);
    }
  }
  return undefined;
}
