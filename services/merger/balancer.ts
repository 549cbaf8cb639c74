// The merger's view of searcher replicas per column and the choice of one replica per column for
// each query: least outstanding requests among healthy replicas, ties broken round robin. A
// replica that fails is unhealthy for a backoff that doubles with consecutive failures (capped)
// and resets on the first success; when the backoff ends it takes traffic again (that request is
// the probe). An error (refused, reset, non-200) ejects at once: the replica is broken. A timeout
// says "slow", not "dead": it ejects only after `ejectAfterTimeouts` in a row without a success,
// and never the last healthy replica of its column, because ejecting that one turns a busy
// machine's latency into seconds of missing columns (load shedding by 502). A hung replica among
// healthy ones is ejected quickly; a lone slow one keeps answering within the attempt timeout. Discovery hands in the full replica set whenever ZooKeeper changes; replicas that
// disappear are closed once their in-flight requests finish.
//
// Concurrency: single-threaded (event loop). `outstanding` counts requests between begin() and
// release() (a request the caller stopped waiting for still counts until it is over on the
// wire); everything is synchronous bookkeeping, so pick() never sees a half-updated state.
import type { SearcherRegistration } from '../../core/zk-paths.js';
import type { SearcherClient } from './searcher-client.js';

export interface BalancerOptions {
  /** Makes the client (connection pool) of a newly discovered replica. */
  clientFactory: (registration: SearcherRegistration) => SearcherClient;
  /** Unhealthy time after the first failure (ms); doubles per consecutive failure. */
  backoffMs: number;
  /** Upper bound of the unhealthy time (ms). */
  maxBackoffMs: number;
  /** Consecutive timeouts (no success between) that make a replica unhealthy; default 3. */
  ejectAfterTimeouts?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
  /** Told when a replica starts a backoff (for the log), with the failure that caused it. */
  onUnhealthy?: (replica: Replica, backoffMs: number, cause?: unknown) => void;
}

export class Replica {
  outstanding = 0;
  /** Consecutive ejections; 0 after a success. */
  failures = 0;
  /** Consecutive timeouts since the last success or ejection. */
  timeouts = 0;
  /** ms timestamp until which the replica gets no traffic. */
  unhealthyUntil = 0;
  constructor(
    readonly key: string,
    readonly registration: SearcherRegistration,
    readonly client: SearcherClient,
  ) {}
  get id(): string {
    return this.registration.replica;
  }
}

function keyOf(r: SearcherRegistration): string {
  // The frame address is part of the key: a replica restarted on the same HTTP port gets a new client.
  return r.frames === undefined ? `${r.replica}@${r.url}` : `${r.replica}@${r.url}+${r.frames}`;
}

export class Balancer {
  private columns: Replica[][] = [];
  private rr: number[] = [];
  private readonly now: () => number;

  constructor(private readonly options: BalancerOptions) {
    this.now = options.now ?? Date.now;
  }

  get columnCount(): number {
    return this.columns.length;
  }

  replicas(column: number): readonly Replica[] {
    return this.columns[column] ?? [];
  }

  /**
   * Replaces the replica set: `columns[c]` lists column c's registrations. Known replicas (same
   * id and URL) keep their client, counters and health; new ones get a client; gone ones are
   * closed (undici's close waits for their in-flight requests).
   */
  setReplicas(columns: readonly (readonly SearcherRegistration[])[]): void {
    const old = new Map<string, Replica>();
    for (const col of this.columns) for (const r of col) old.set(r.key, r);
    const next: Replica[][] = [];
    for (let c = 0; c < columns.length; c++) {
      const col: Replica[] = [];
      for (const reg of columns[c]!) {
        const key = keyOf(reg);
        const known = old.get(key);
        if (known !== undefined && known.registration.column === c) {
          old.delete(key);
          col.push(known);
        } else {
          col.push(new Replica(key, reg, this.options.clientFactory(reg)));
        }
      }
      col.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      next.push(col);
    }
    this.columns = next;
    this.rr = next.map((_, c) => this.rr[c] ?? 0);
    for (const gone of old.values()) void gone.client.close().catch(() => {});
  }

  healthy(replica: Replica, now = this.now()): boolean {
    return replica.unhealthyUntil <= now;
  }

  healthyCount(column: number): number {
    const now = this.now();
    let n = 0;
    for (const r of this.replicas(column)) if (this.healthy(r, now)) n++;
    return n;
  }

  /**
   * The healthy replica of `column` with the fewest outstanding requests (ties: round robin),
   * other than `exclude`; undefined when there is none.
   */
  pick(column: number, exclude?: Replica): Replica | undefined {
    const col = this.columns[column];
    if (col === undefined || col.length === 0) return undefined;
    const now = this.now();
    const len = col.length;
    const start = this.rr[column]! % len;
    let best: Replica | undefined;
    for (let i = 0; i < len; i++) {
      const r = col[(start + i) % len]!;
      if (r === exclude || r.unhealthyUntil > now) continue;
      if (best === undefined || r.outstanding < best.outstanding) best = r;
    }
    this.rr[column] = (start + 1) % len;
    return best;
  }

  begin(replica: Replica): void {
    replica.outstanding++;
  }

  /** The request is over on the wire (answered, failed or abandoned). */
  release(replica: Replica): void {
    replica.outstanding--;
  }

  /** Ends a request that is over on the wire: release() and report() together. */
  end(replica: Replica, outcome: 'ok' | 'error' | 'timeout'): void {
    this.release(replica);
    this.report(replica, outcome);
  }

  /**
   * What an attempt's answer said about the replica. Success resets the backoff; an error makes
   * the replica unhealthy for a while; a timeout does so only when it is the
   * ejectAfterTimeouts-th in a row and the column has another healthy replica.
   */
  report(replica: Replica, outcome: 'ok' | 'error' | 'timeout', cause?: unknown): void {
    if (outcome === 'ok') {
      replica.failures = 0;
      replica.timeouts = 0;
      return;
    }
    const now = this.now();
    // Requests that were in flight when the replica went bad fail together: one episode, one step.
    if (replica.unhealthyUntil > now) return;
    if (outcome === 'timeout') {
      if (++replica.timeouts < (this.options.ejectAfterTimeouts ?? 3)) return;
      if (!this.hasOtherHealthy(replica, now)) return;
    }
    replica.timeouts = 0;
    replica.failures++;
    const backoff = Math.min(
      this.options.maxBackoffMs,
      this.options.backoffMs * 2 ** Math.min(replica.failures - 1, 20),
    );
    replica.unhealthyUntil = now + backoff;
    this.options.onUnhealthy?.(replica, backoff, cause);
  }

  private hasOtherHealthy(replica: Replica, now: number): boolean {
    for (const r of this.columns[replica.registration.column] ?? []) {
      if (r !== replica && r.unhealthyUntil <= now) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    const all = this.columns.flat();
    this.columns = [];
    await Promise.allSettled(all.map((r) => r.client.close()));
  }
}
