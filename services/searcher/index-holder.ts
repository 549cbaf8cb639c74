// The searcher's current-index reference and the hot-swap that replaces it.
//
// Concurrency model (one Node.js event loop, no locks needed):
// - `current` is one object reference. A query handler reads it once and uses that object for
//   its whole lifetime, so a query that started on the old version finishes on the old version;
//   the old index is garbage-collected when the last such query is done.
// - A swap loads the new column beside the old one (the old keeps serving meanwhile), runs the
//   catch-up hook, and then switches with a single assignment. There is no moment without an
//   index and no moment where a query sees half of each.
// - Requests for new versions are serialized and coalesced: while one load runs, only the latest
//   requested pointer is remembered; older requests that never started are dropped.
// - A load that fails (checksum mismatch, truncated or missing segment, bad JSON, wrong column
//   count) is refused: logged with its reason, counted in imatch_searcher_swap_failures_total,
//   and the current version keeps serving untouched.

import { type ErrorCode, ImatchError, isImatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import type { SearcherMetrics } from './metrics.js';

/** One loaded, servable version. Immutable: a swap makes a new one. */
export interface Serving<I> {
  readonly index: I;
  readonly version: string;
  readonly dir: string;
  readonly watermark: number;
  readonly loadedAt: Date;
  readonly loadMs: number;
}

export type SwapOutcome =
  | { readonly kind: 'swapped'; readonly version: string; readonly loadMs: number }
  | { readonly kind: 'unchanged'; readonly version: string }
  | {
      readonly kind: 'refused';
      readonly version: string;
      readonly code: ErrorCode | 'unknown';
      readonly reason: string;
    };

export interface IndexHolderOptions<I> {
  column: number;
  /** Loads (and verifies) one column of a version folder. Throws on any problem. */
  load: (versionDir: string, column: number) => Promise<I>;
  /**
   * Runs after a load and before the switch. See replayWalPastWatermark: today a no-op; the
   * isupdate work replays local WAL messages with id > watermark here so the new version is as
   * fresh as the old one at the moment of the switch.
   */
  catchUp?: (index: I, pointer: IndexPointer) => Promise<void>;
  /**
   * The version id a loaded index says it holds; when given, an index whose id differs from the
   * pointer's version is refused (the pointer and the folder disagree, so answers would carry a
   * wrong version).
   */
  versionOf?: (index: I) => string;
  /** Called after every successful switch (the server updates its ZooKeeper registration). */
  onSwapped?: (serving: Serving<I>, previous: Serving<I> | undefined) => void | Promise<void>;
  log: Logger;
  metrics: Pick<SearcherMetrics, 'swaps' | 'swapFailures' | 'loadSeconds'>;
}

/**
 * Hook for the isupdate work (DESIGN.md "after a swap replays from its own WAL every message
 * with id > the new version's watermark"). There is no WAL yet, so there is nothing to replay:
 * this deliberately does nothing. When isupdate lands it reads the WAL from `watermark + 1` and
 * applies each message to `index` BEFORE the holder switches to it.
 */
export async function replayWalPastWatermark<I>(_index: I, _pointer: IndexPointer): Promise<void> {
  // Intentionally empty until the searcher has a WAL (isupdate). See the comment above.
}

export class IndexHolder<I> {
  #current: Serving<I> | undefined;
  #wanted: IndexPointer | undefined;
  #running: Promise<void> | undefined;
  #outcomes: SwapOutcome[] = [];
  readonly #opts: IndexHolderOptions<I>;

  constructor(options: IndexHolderOptions<I>) {
    this.#opts = options;
  }

  /** The version serving queries right now (undefined until the first successful load). */
  get current(): Serving<I> | undefined {
    return this.#current;
  }

  /** True while a load is in progress. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Outcomes of the swaps since the last call (for logs and tests), oldest first. */
  takeOutcomes(): SwapOutcome[] {
    const out = this.#outcomes;
    this.#outcomes = [];
    return out;
  }

  /**
   * Asks for `pointer` to become the served version. Returns at once; the load runs in the
   * background (see `idle()`). A pointer for the version already served is ignored.
   */
  request(pointer: IndexPointer): void {
    this.#wanted = pointer;
    if (this.#running === undefined) {
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
      });
    }
  }

  /** Resolves when no load is running or queued. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#wanted !== undefined) {
      const pointer = this.#wanted;
      this.#wanted = undefined;
      const outcome = await this.#swap(pointer);
      this.#outcomes.push(outcome);
      if (this.#outcomes.length > 100) this.#outcomes.shift();
    }
  }

  async #swap(pointer: IndexPointer): Promise<SwapOutcome> {
    const { column, log, metrics } = this.#opts;
    const previous = this.#current;
    if (previous !== undefined && previous.version === pointer.version && previous.dir === pointer.dir) {
      return { kind: 'unchanged', version: pointer.version };
    }
    const started = performance.now();
    let index: I;
    try {
      if (!Number.isInteger(pointer.columns) || column >= pointer.columns) {
        throw new ImatchError(
          'IM_ERR_INDEX_MISSING',
          `version ${pointer.version} has ${pointer.columns} column(s); this replica serves column ${column}`,
        );
      }
      log.info({ version: pointer.version, dir: pointer.dir, column }, 'loading index version');
      index = await this.#opts.load(pointer.dir, column);
      const held = this.#opts.versionOf?.(index);
      if (held !== undefined && held !== pointer.version) {
        throw new ImatchError(
          'IM_ERR_INDEX_MISSING',
          `folder ${pointer.dir} holds version ${held}, but the pointer names ${pointer.version}`,
        );
      }
      await (this.#opts.catchUp ?? replayWalPastWatermark)(index, pointer);
    } catch (err) {
      const code: ErrorCode | 'unknown' = isImatchError(err) ? err.code : 'unknown';
      const reason = err instanceof Error ? err.message : String(err);
      metrics.swapFailures.inc({ reason: code });
      log.error(
        { err, code, version: pointer.version, dir: pointer.dir, column, serving: previous?.version ?? null },
        `refused index version ${pointer.version}: ${reason}; ${
          previous === undefined ? 'no version is served yet' : `still serving ${previous.version}`
        }`,
      );
      return { kind: 'refused', version: pointer.version, code, reason };
    }
    const loadMs = performance.now() - started;
    const next: Serving<I> = {
      index,
      version: pointer.version,
      dir: pointer.dir,
      watermark: pointer.watermark,
      loadedAt: new Date(),
      loadMs,
    };
    this.#current = next; // the switch: one reference assignment
    metrics.swaps.inc();
    metrics.loadSeconds.set(loadMs / 1000);
    log.info(
      { version: next.version, previous: previous?.version ?? null, loadMs: Math.round(loadMs) },
      previous === undefined ? 'serving index version' : 'swapped index version',
    );
    try {
      await this.#opts.onSwapped?.(next, previous);
    } catch (err) {
      log.error({ err, version: next.version }, 'after-swap hook failed');
    }
    return { kind: 'swapped', version: next.version, loadMs };
  }
}
