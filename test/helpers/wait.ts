// Waiting for a condition with a deadline, instead of sleeping: polls `check` until it returns a
// value other than undefined/false (that value is returned) or the deadline passes, then fails with
// what was awaited and the last value or error seen.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, for the error message. */
  what?: string;
  /** Deadline in ms; default 30000. */
  timeoutMs?: number;
  /** Pause between checks in ms; default 50. */
  intervalMs?: number;
}

export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? `${last.name}: ${last.message}` : JSON.stringify(last);
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'} (last: ${seen})`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}
