// Histories and their checks, Jepsen-style: every operation a scenario makes is recorded with when
// it started, when it ended and how (ok with its result, fail = a definite refusal, info = no
// answer: it may or may not have taken effect), and the invariants are checked on the record
// afterwards, each giving its first counterexample. Each scenario ends with one result line:
//   <scenario>: <operations>; faults: <...>; invariants: <name> held, <name> BROKEN (<first>)
// The lines are also appended to the run's results file, which the global setup prints at the end.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Change, ChangeMessage } from '../../../core/model.js';
import type { ColumnContent } from '../../helpers/change-reference.js';
import { SECRET } from './engine.js';

export type Outcome = 'ok' | 'fail' | 'info';

export interface ChangeOp {
  worker: number;
  start: number;
  end: number;
  url: string;
  changes: Change[];
  outcome: Outcome;
  ids?: number[];
  status?: number;
  code?: string;
}

/**
 * The BP's side of POST /v1/changes, recording every attempt. Each worker (a BP client) has a
 * home URL (`worker mod n`) it goes back to every `rehomeMs`, follows the leader a follower names
 * (503 IM_ERR_NOT_LEADER) and moves to the next URL when one does not answer. So after a failover
 * some workers may still be talking to the old leader while others found the new one: exactly
 * when two instances that both believe they lead would both acknowledge.
 */
export class ChangeRecorder {
  readonly ops: ChangeOp[] = [];
  readonly urls: string[];
  readonly rehomeMs: number;
  #pools = new Map<string, Pool>();
  #currentOf = new Map<number, number>();
  #homedAt = new Map<number, number>();

  constructor(urls: string[], rehomeMs = 2000) {
    this.urls = urls;
    this.rehomeMs = rehomeMs;
  }

  #pool(url: string): Pool {
    let p = this.#pools.get(url);
    if (p === undefined) {
      p = new Pool(url, {
        connections: 8,
        keepAliveTimeout: 2000,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      this.#pools.set(url, p);
    }
    return p;
  }

  async post(worker: number, changes: Change[]): Promise<ChangeOp> {
    if (Date.now() - (this.#homedAt.get(worker) ?? 0) > this.rehomeMs) {
      this.#homedAt.set(worker, Date.now());
      this.#currentOf.set(worker, worker % this.urls.length);
    }
    const current = this.#currentOf.get(worker)!;
    const url = this.urls[current]!;
    const move = (to: number) => this.#currentOf.set(worker, to);
    const op: ChangeOp = { worker, start: performance.now(), end: 0, url, changes, outcome: 'info' };
    this.ops.push(op);
    try {
      const res = await this.#pool(url).request({
        path: '/v1/changes',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify({ changes }),
        headersTimeout: 15_000,
      });
      const body = (await res.body.json()) as {
        ids?: number[];
        code?: string;
        details?: { leaderUrl?: string };
      };
      op.end = performance.now();
      op.status = res.statusCode;
      if (res.statusCode === 200 && body.ids !== undefined) {
        op.outcome = 'ok';
        op.ids = body.ids;
      } else {
        // A 503 from a leader whose Kafka write failed or timed out may still have been written:
        // only an acknowledgement is a promise, so anything else is "not acknowledged".
        op.outcome = res.statusCode === 400 || res.statusCode === 401 ? 'fail' : 'info';
        if (body.code !== undefined) op.code = body.code;
        if (body.code === 'IM_ERR_NOT_LEADER') {
          const at = body.details?.leaderUrl ? this.urls.indexOf(body.details.leaderUrl) : -1;
          move(at >= 0 && at !== current ? at : (current + 1) % this.urls.length);
        }
      }
    } catch (err) {
      op.end = performance.now();
      op.code = (err as { code?: string }).code ?? (err as Error).message;
      move((current + 1) % this.urls.length);
    }
    return op;
  }

  /** Posts until acknowledged (like a BP), giving up after `timeoutMs`. */
  async postUntilAcked(worker: number, changes: Change[], timeoutMs = 60_000): Promise<ChangeOp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const op = await this.post(worker, changes);
      if (op.outcome === 'ok') return op;
      if (Date.now() > deadline)
        throw new Error(`no dispatch acknowledged a batch for ${timeoutMs} ms (${op.code})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  acked(): ChangeOp[] {
    return this.ops.filter((o) => o.outcome === 'ok');
  }

  /** Acknowledged messages in id order (what the reference applies). */
  ackedMessages(): ChangeMessage[] {
    const out: ChangeMessage[] = [];
    for (const op of this.acked()) {
      op.ids!.forEach((id, i) => {
        out.push({ ...op.changes[i]!, id, acceptedAt: '' } as ChangeMessage);
      });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

export interface Invariant {
  name: string;
  /** null when it held, else the first counterexample. */
  broken: string | null;
}

/** No id was acknowledged twice (within a batch or across batches, by any leader). */
export function idsUnique(ops: ChangeOp[]): Invariant {
  const seen = new Map<number, ChangeOp>();
  for (const op of ops) {
    if (op.outcome !== 'ok') continue;
    for (const id of op.ids!) {
      const other = seen.get(id);
      if (other !== undefined)
        return {
          name: 'ids unique',
          broken:
            `id ${id} acknowledged by ${other.url} at ${other.end.toFixed(0)} ms and by ${op.url} ` +
            `at ${op.end.toFixed(0)} ms`,
        };
      seen.set(id, op);
    }
  }
  return { name: 'ids unique', broken: null };
}

/**
 * Ids increase in acknowledgement order, in real time: when batch A was acknowledged before
 * batch B was sent, every id of A is below every id of B (and ids increase within a batch).
 */
export function idsIncreaseInAckOrder(ops: ChangeOp[]): Invariant {
  const name = 'ids increase in acknowledgement order';
  const acked = ops.filter((o) => o.outcome === 'ok').sort((a, b) => a.end - b.end);
  for (const op of acked) {
    for (let i = 1; i < op.ids!.length; i++)
      if (op.ids![i]! <= op.ids![i - 1]!) return { name, broken: `ids ${op.ids!.join(',')} in one batch` };
  }
  const byStart = [...acked].sort((a, b) => a.start - b.start);
  let j = 0;
  let maxBefore = Number.NEGATIVE_INFINITY;
  let maxOp: ChangeOp | undefined;
  for (const b of byStart) {
    while (j < acked.length && acked[j]!.end < b.start) {
      const top = Math.max(...acked[j]!.ids!);
      if (top > maxBefore) {
        maxBefore = top;
        maxOp = acked[j];
      }
      j++;
    }
    const low = Math.min(...b.ids!);
    if (low <= maxBefore) {
      return {
        name,
        broken:
          `id ${low} acknowledged by ${b.url} at ${b.end.toFixed(0)} ms for a batch sent at ${b.start.toFixed(0)} ms, ` +
          `after id ${maxBefore} had been acknowledged by ${maxOp!.url} at ${maxOp!.end.toFixed(0)} ms`,
      };
    }
  }
  return { name, broken: null };
}

/** Every acknowledged message is in the topic, once, with the content that was acknowledged. */
export function ackedAreDurable(acked: ChangeMessage[], inTopic: ChangeMessage[]): Invariant {
  const name = 'acknowledged = durable in Kafka, once';
  const count = new Map<number, ChangeMessage[]>();
  for (const m of inTopic) count.set(m.id, [...(count.get(m.id) ?? []), m]);
  for (const a of acked) {
    const found = count.get(a.id) ?? [];
    if (found.length === 0) return { name, broken: `acknowledged id ${a.id} is not in the topic` };
    if (found.length > 1) return { name, broken: `id ${a.id} is ${found.length} times in the topic` };
    if (canonical(found[0]!.data) !== canonical(a.data))
      return { name, broken: `id ${a.id} in the topic differs from what was acknowledged` };
  }
  return { name, broken: null };
}

/** JSON with sorted keys, so equal objects print the same whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** The first difference between a searcher's dump and the reference column, or null. */
export function firstDifference(
  actual: ColumnContent | { [k: string]: unknown[] },
  expected: ColumnContent,
): string | null {
  const kinds = [
    ['customers', (r: { id: string }) => r.id],
    ['offers', (r: { offer: { id: string } }) => r.offer.id],
    ['pendingBidwords', (r: { id: string }) => r.id],
  ] as const;
  for (const [kind, key] of kinds) {
    const a = new Map(
      ((actual as Record<string, unknown[]>)[kind] ?? []).map((r) => [key(r as never), canonical(r)]),
    );
    const e = new Map((expected[kind] as unknown[]).map((r) => [key(r as never), canonical(r)]));
    for (const [k, v] of e) {
      const got = a.get(k);
      if (got === undefined) return `${kind} ${k} missing`;
      if (got !== v) return `${kind} ${k} differs`;
    }
    for (const k of a.keys()) if (!e.has(k)) return `${kind} ${k} should not be there`;
  }
  return null;
}

export interface ScenarioResult {
  scenario: string;
  operations: string;
  faults: string[];
  invariants: Invariant[];
}

/** The scenario's one line. */
export function resultLine(r: ScenarioResult): string {
  const inv = r.invariants
    .map((i) => (i.broken === null ? `${i.name}: held` : `${i.name}: BROKEN (${i.broken})`))
    .join('; ');
  return `${r.scenario}: ${r.operations}; faults: ${r.faults.join(', ') || 'none'}; invariants: ${inv}`;
}

/** Prints the line and keeps it for the run's summary. Returns the broken invariants. */
export function report(r: ScenarioResult): Invariant[] {
  const line = resultLine(r);
  process.stdout.write(`[chaos] ${line}\n`);
  const file = process.env.IMATCH_CHAOS_RESULTS;
  if (file) appendFileSync(file, `${line}\n`);
  return r.invariants.filter((i) => i.broken !== null);
}

/** Faults with when they happened, for the result line ("partition dispatch1-x-zk @12.3s"). */
export class FaultLog {
  readonly #t0 = performance.now();
  readonly entries: string[] = [];

  add(what: string): void {
    this.entries.push(`${what} ${this.at(performance.now())}`);
  }

  /** A performance.now() time as the fault log writes it: "@12.3s" since the scenario began. */
  at(t: number): string {
    return `@${((t - this.#t0) / 1000).toFixed(1)}s`;
  }
}
