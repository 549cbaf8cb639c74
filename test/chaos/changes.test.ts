// Scenario "changes": three BP clients post change batches to two dispatch instances (each
// client starts on its own instance and follows the leader it is told of) while four searcher
// replicas (2 columns x 2) apply them. Faults, one after another under load:
//   1. the dispatch leader is cut from all three ZooKeeper nodes (both ways) while the clients
//      still reach it: the other instance must take over and the cut one must stop acknowledging;
//   2. the Kafka leader of the changes partition is killed with SIGKILL (restarted later);
//   3. a searcher replica cannot send to Kafka (one-way), another is paused (SIGSTOP/SIGCONT);
//   4. 10 % packet loss on the new dispatch leader.
// Invariants on the history: ids unique; ids increase in acknowledgement order (real time); every
// acknowledged message is in the topic once; after healing, every replica's /debug/dump equals the
// snapshot plus every acknowledged change in id order (test/helpers/change-reference.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Change } from '../../core/model.js';
import { ReferenceState, readChanges } from '../helpers/change-reference.js';
import { waitFor } from '../helpers/wait.js';
import { ChangeLoad, checkChanges } from './support/changes-load.js';
import { Cluster } from './support/cluster.js';
import { snapshotAndIndex } from './support/data.js';
import { Engine, pause, resume, type Service } from './support/engine.js';
import { ChangeRecorder, FaultLog, report } from './support/history.js';
import { type EngineHost, KAFKA_HOSTS, ZK_HOSTS } from './support/hosts.js';

const COLUMNS = 2;
const WORKERS = 3;
const BATCH = 10;
/** Per worker: about 3 x 10 x 10 = 300 changes/s in all. */
const BATCHES_PER_SECOND = 10;

const cluster = new Cluster(inject('chaos'));
const net = cluster.net;
let tmp: string;
let engine: Engine;
let snapshot: ReferenceState;
let changes: Change[];
const dispatch: Service[] = [];
const searchers: { s: Service; column: number }[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-chaos-changes-'));
  engine = new Engine(cluster, 'changes', tmp);
  await engine.createTopics();
  const { bp } = await snapshotAndIndex(engine, {
    offers: 1500,
    changes: 30_000,
    queries: 10,
    columns: COLUMNS,
  });
  snapshot = await ReferenceState.load(bp);
  changes = (await readChanges(join(bp, 'changes.jsonl'))) as Change[];
  dispatch.push(await engine.dispatch('dispatch1'));
  dispatch.push(await engine.dispatch('dispatch2'));
  const hosts: [EngineHost, number, string][] = [
    ['searcher-c0-a', 0, 'a'],
    ['searcher-c0-b', 0, 'b'],
    ['searcher-c1-a', 1, 'a'],
    ['searcher-c1-b', 1, 'b'],
  ];
  for (const [host, column, replica] of hosts)
    searchers.push({ s: await engine.searcher(host, column, replica), column });
}, 300_000);

afterAll(async () => {
  await engine?.saveLogs();
  await net.heal();
  for (const { s } of searchers) if (s.proc.exitCode() === null) resume(s);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** Which dispatch instance says it leads (GET /readyz answers 200 only on the leader). */
async function leaderOf(): Promise<Service | undefined> {
  for (const d of dispatch) {
    const res = await fetch(`${d.url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return d;
  }
  return undefined;
}

describe('chaos: changes', () => {
  it('acknowledged changes are unique, ordered, durable and in every replica after partitions, kills and pauses', async () => {
    const rec = new ChangeRecorder(dispatch.map((d) => d.url));
    const faults = new FaultLog();
    const load = new ChangeLoad(rec, changes, {
      workers: WORKERS,
      batch: BATCH,
      batchesPerSecond: BATCHES_PER_SECOND,
    });
    const ackedBy = (url: string, after: number) =>
      rec.ops.some((o) => o.outcome === 'ok' && o.url === url && o.start > after);

    await waitFor(() => rec.acked().length > 30, { what: 'changes acknowledged before the faults' });

    // 1. The leader loses ZooKeeper but the clients still reach it.
    const old = await waitFor(leaderOf, { what: 'a dispatch leader' });
    const other = dispatch.find((d) => d !== old)!;
    await net.partition(old.host, [...ZK_HOSTS], 'both');
    faults.add(`partition ${old.host} x zookeeper`);
    const cutAt = performance.now();
    await waitFor(() => ackedBy(other.url, cutAt), { what: `${other.host} to take over`, timeoutMs: 60_000 });
    await sleep(6000); // clients still send to the cut instance meanwhile
    await net.heal([old.host]);
    faults.add(`heal ${old.host}`);

    // 2. The Kafka leader of the changes partition dies under load.
    const { leader } = await cluster.partitionLeader(engine.topics.changes);
    await cluster.kill(leader);
    faults.add(`kill -9 ${leader} (partition leader)`);
    const killedAt = performance.now();
    await waitFor(() => rec.ops.some((o) => o.outcome === 'ok' && o.start > killedAt), {
      what: 'acknowledgements with the Kafka leader gone',
      timeoutMs: 60_000,
    });

    // 3. A replica cut from Kafka one way, another paused.
    const cutSearcher = searchers[0]!.s;
    const paused = searchers[3]!.s;
    await net.partition(cutSearcher.host, [...KAFKA_HOSTS], 'out');
    faults.add(`partition ${cutSearcher.host} -> kafka (one-way)`);
    pause(paused);
    faults.add(`SIGSTOP ${paused.host}`);
    await sleep(6000);
    resume(paused);
    faults.add(`SIGCONT ${paused.host}`);
    await net.heal([cutSearcher.host]);
    faults.add(`heal ${cutSearcher.host}`);
    await cluster.start(leader);
    faults.add(`restart ${leader}`);

    // 4. Loss on the current leader's link.
    const now = (await leaderOf()) ?? other;
    await net.loss(now.host, 10);
    faults.add(`10% loss ${now.host}`);
    await sleep(5000);
    await net.heal([now.host]);
    faults.add(`heal ${now.host}`);
    await sleep(2000);
    await load.stop();
    const { invariants, messages } = await checkChanges(engine, rec, snapshot, searchers, COLUMNS);

    const okOps = rec.acked().length;
    const broken = report({
      scenario: 'changes',
      operations:
        `${rec.ops.length} POST /v1/changes (${okOps} acknowledged, ${rec.ops.length - okOps} not), ` +
        `${messages} messages`,
      faults: faults.entries,
      invariants,
    });
    await rec.close();
    expect(broken).toEqual([]);
  });
});
