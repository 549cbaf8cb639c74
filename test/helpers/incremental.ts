// Helpers of the incremental-path tests (test/dispatch-*, test/isupdate-*, test/freshness*):
// dispatch and isupdate-enabled searcher processes on the test run's ZooKeeper and Kafka, a
// BP-side client of POST /v1/changes that keeps every acknowledged message, a paced feeder, and
// reads of a searcher's /debug/dump. Every process goes through spawn.ts (stopped at the end of
// its test or file); every undici Pool is closed when the test or file ends.

import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { commandLine } from '../../bin/launch/command-line.js';
import type { Change, ChangeMessage } from '../../core/model.js';
import { kafkaBrokers, zkConnect } from './servers.js';
import { type ServiceProcess, spawnImatch } from './spawn.js';
import { waitFor } from './wait.js';

export const TEST_SECRET = `test-secret-${randomBytes(12).toString('hex')}`;

export interface DispatchProcess {
  proc: ServiceProcess;
  url: string;
}

/** Starts `imatch dispatch` and waits for the URL it prints. */
export async function startDispatch(
  zkRoot: string,
  topic: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<DispatchProcess> {
  const proc = spawnImatch(
    [
      ...commandLine('dispatch', {
        zkConnect: zkConnect(),
        zkRoot,
        kafkaBrokers: kafkaBrokers(),
        topicChanges: topic,
        zkSessionTimeoutMs: 4000,
        logLevel: 'warn',
      }),
      ...extra,
    ],
    { env: { IMATCH_SECRET: TEST_SECRET, ...env } },
  );
  const m = await proc.waitForOutput(/"service":"dispatch".*"url":"(http:[^"]+)"/, 60_000);
  return { proc, url: m[1]! };
}

export interface IsSearcher {
  proc: ServiceProcess;
  url: string;
  column: number;
  replica: string;
}

/** Starts a searcher with isupdate on `topic`, its WAL under `dataDir`, /debug/dump on. */
export async function startIsSearcher(opts: {
  zkRoot: string;
  topic: string;
  column: number;
  replica: string;
  dataDir: string;
  batch?: number;
  extra?: string[];
}): Promise<IsSearcher> {
  const proc = spawnImatch(
    [
      ...commandLine('searcher', {
        column: opts.column,
        replica: opts.replica,
        zkConnect: zkConnect(),
        zkRoot: opts.zkRoot,
        zkSessionTimeoutMs: 4000,
        kafkaBrokers: kafkaBrokers(),
        topicChanges: opts.topic,
        dataDir: opts.dataDir,
        isupdateBatch: opts.batch ?? 50,
        debugEndpoints: true,
        logLevel: 'info',
      }),
      ...(opts.extra ?? []),
    ],
    { name: `searcher-${opts.column}-${opts.replica}` },
  );
  const m = await proc.waitForOutput(/"url":"(http:[^"]+)"[^\n]*"msg":"searcher listening"/, 60_000);
  return { proc, url: m[1]!, column: opts.column, replica: opts.replica };
}

export interface DumpAnswer {
  version: string;
  column: number;
  columns: number;
  watermark: number;
  appliedId: number;
  dump: {
    customers: unknown[];
    offers: Array<{ offer: { id: string }; bidwords: unknown[] }>;
    pendingBidwords: unknown[];
  };
}

/** GET /debug/dump of a searcher (undefined while it has no version). */
export async function dumpOf(url: string): Promise<DumpAnswer | undefined> {
  const pool = new Pool(url, { connections: 1, keepAliveTimeout: 100 });
  try {
    const res = await pool.request({ path: '/debug/dump', method: 'GET' });
    const text = await res.body.text();
    if (res.statusCode !== 200) return undefined;
    return JSON.parse(text) as DumpAnswer;
  } finally {
    await pool.close();
  }
}

/** Waits until the searcher's live index has applied `id` (or more) and returns its dump. */
export async function dumpWhenApplied(
  url: string,
  id: number,
  timeoutMs = 60_000,
  version?: string,
): Promise<DumpAnswer> {
  return waitFor(
    async () => {
      const d = await dumpOf(url);
      return d !== undefined && d.appliedId >= id && (version === undefined || d.version === version)
        ? d
        : undefined;
    },
    {
      what: `searcher ${url} to apply message ${id}${version ? ` on ${version}` : ''}`,
      timeoutMs,
      intervalMs: 200,
    },
  );
}

export interface PostResult {
  status: number;
  body: { ids?: number[]; code?: string; message?: string; details?: unknown };
}

/**
 * The BP's side: posts batches and remembers every acknowledged message (change + id). Given
 * several dispatch URLs it follows the leader: on a 503 IM_ERR_NOT_LEADER it switches to the URL
 * the follower names, on a refused connection to the next URL.
 */
export class ChangeClient {
  readonly acked: ChangeMessage[] = [];
  readonly urls: string[];
  #pools = new Map<string, Pool>();
  #current = 0;

  constructor(urls: string | string[]) {
    this.urls = typeof urls === 'string' ? [urls] : [...urls];
  }

  /** The dispatch URL requests go to now. */
  get url(): string {
    return this.urls[this.#current]!;
  }

  /** A keep-alive pool to the current URL. */
  get pool(): Pool {
    let pool = this.#pools.get(this.url);
    if (pool === undefined) {
      pool = new Pool(this.url, { connections: 4, keepAliveTimeout: 1000 });
      this.#pools.set(this.url, pool);
    }
    return pool;
  }

  async post(changes: readonly unknown[], secret: string | null = TEST_SECRET): Promise<PostResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret !== null) headers.authorization = `Bearer ${secret}`;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.pool.request({
        path: '/v1/changes',
        method: 'POST',
        headers,
        body: JSON.stringify({ changes }),
      });
    } catch (err) {
      this.#current = (this.#current + 1) % this.urls.length;
      throw err;
    }
    const body = (await res.body.json()) as PostResult['body'];
    if (res.statusCode === 200 && body.ids !== undefined) {
      const at = new Date().toISOString();
      body.ids.forEach((id, i) => {
        this.acked.push({ ...(changes[i] as Change), id, acceptedAt: at } as ChangeMessage);
      });
    } else if (body.code === 'IM_ERR_NOT_LEADER') {
      const leader = (body.details as { leaderUrl?: string | null } | undefined)?.leaderUrl;
      const at = leader == null ? -1 : this.urls.indexOf(leader);
      this.#current = at >= 0 ? at : (this.#current + 1) % this.urls.length;
    }
    return { status: res.statusCode, body };
  }

  /** Posts until accepted (a follower or a restarting leader answers 503); returns the ids. */
  async postUntilAccepted(changes: readonly unknown[], timeoutMs = 60_000): Promise<number[]> {
    return waitFor(
      async () => {
        try {
          const r = await this.post(changes);
          return r.status === 200 ? r.body.ids : undefined;
        } catch {
          return undefined; // connection refused while the process restarts
        }
      },
      { what: 'dispatch to accept a batch', timeoutMs, intervalMs: 100 },
    );
  }

  /** Acknowledged messages sorted by id (acceptance order). */
  ackedInIdOrder(): ChangeMessage[] {
    return [...this.acked].sort((a, b) => a.id - b.id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}

/**
 * Posts `changes` at about `perSecond` in batches of `batch`, until they run out or stop() is
 * called. Batches are sent one after another (the next waits for the answer). Like a BP, a batch
 * that is not acknowledged (503, connection refused) is sent again until it is, before the next
 * one; `failures` counts those attempts. (An unacknowledged batch may still have been written:
 * resending the same whole-entity changes right away leaves the same final state.)
 */
export class Feeder {
  #stop = false;
  #done: Promise<void>;
  sent = 0;
  failures = 0;

  constructor(client: ChangeClient, changes: readonly unknown[], perSecond: number, batch: number) {
    const intervalMs = (1000 * batch) / perSecond;
    this.#done = (async () => {
      const started = Date.now();
      for (let i = 0; i < changes.length && !this.#stop; i += batch) {
        const slice = changes.slice(i, i + batch);
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            const r = await client.post(slice);
            if (r.status === 200) break;
          } catch {
            // refused while a dispatch instance restarts or fails over
          }
          this.failures++;
          if (Date.now() > deadline) throw new Error(`no dispatch accepted a batch for 60 s (${client.url})`);
          await new Promise((r) => setTimeout(r, 100));
        }
        this.sent += slice.length;
        const due = started + ((i + batch) / batch) * intervalMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  /** Resolves when everything was sent (or after stop()). */
  done(): Promise<void> {
    return this.#done;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** A customer upsert used as a marker: every column applies customer messages. */
export function markerChange(n: number): Change {
  return {
    entity: 'customer',
    op: 'upsert',
    data: { id: 'cmarker', name: `marker ${n}`, status: 'offline', dailyBudgetMicros: 0 },
  };
}
