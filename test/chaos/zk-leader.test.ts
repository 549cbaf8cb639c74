// Scenario "zk-leader": the ZooKeeper leader is killed (kill -9) under load, twice (the second
// time the leader the ensemble elected after the first kill), each time restarted afterwards.
// Load: three BP clients post changes to two dispatch instances, and ad queries go to the merger
// in front of two searcher columns. Invariants: no query fails; every registration (searchers,
// merger, dispatch instances) is back in ZooKeeper after each kill; no dispatch id is reused,
// ids increase in acknowledgement order, every acknowledged change is durable and in every
// replica afterwards.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Change } from '../../core/model.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk, type ZkClient } from '../../core/zookeeper.js';
import { ReferenceState, readChanges } from '../helpers/change-reference.js';
import { waitFor } from '../helpers/wait.js';
import { ChangeLoad, checkChanges } from './support/changes-load.js';
import { Cluster } from './support/cluster.js';
import { snapshotAndIndex } from './support/data.js';
import { Engine, type Service } from './support/engine.js';
import { ChangeRecorder, FaultLog, type Invariant, report } from './support/history.js';

const COLUMNS = 2;
const cluster = new Cluster(inject('chaos'));
let tmp: string;
let engine: Engine;
let snapshot: ReferenceState;
let changes: Change[];
let queries: string[];
const dispatch: Service[] = [];
const searchers: { s: Service; column: number }[] = [];
let merger: Service;
let zk: ZkClient;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-chaos-zk-'));
  engine = new Engine(cluster, 'zk-leader', tmp);
  await engine.createTopics();
  const { bp } = await snapshotAndIndex(engine, {
    offers: 1500,
    changes: 20_000,
    queries: 200,
    columns: COLUMNS,
  });
  snapshot = await ReferenceState.load(bp);
  changes = (await readChanges(join(bp, 'changes.jsonl'))) as Change[];
  const lines = (await readFile(join(bp, 'queries.jsonl'), 'utf8')).trim().split('\n');
  queries = [...new Set(lines.map((l) => (JSON.parse(l) as { q: string }).q))].slice(0, 40);
  dispatch.push(await engine.dispatch('dispatch1'));
  dispatch.push(await engine.dispatch('dispatch2'));
  searchers.push({ s: await engine.searcher('searcher-c0-a', 0, 'a'), column: 0 });
  searchers.push({ s: await engine.searcher('searcher-c1-a', 1, 'a'), column: 1 });
  merger = await engine.merger(['--deadline-ms', '3500', '--attempt-timeout-ms', '1500']);
  zk = await connectZk({ connect: cluster.zkConnect, sessionTimeoutMs: 6000 });
}, 300_000);

afterAll(async () => {
  await engine?.saveLogs();
  await zk?.close();
  // Whatever happened, leave all three ZooKeeper nodes running for the next scenario.
  for (const h of ['zk1', 'zk2', 'zk3'] as const) if ((await cluster.pid(h)) === null) await cluster.start(h);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** The ephemeral nodes every running service must have. */
function expectedRegistrations(): string[] {
  const p = zkPaths(engine.zkRoot);
  return [
    p.searcherReplica(0, 'a'),
    p.searcherReplica(1, 'a'),
    `${p.serviceKind('merger')}/merger`,
    `${p.serviceKind('dispatch')}/dispatch1`,
    `${p.serviceKind('dispatch')}/dispatch2`,
  ];
}

async function missingRegistrations(): Promise<string[]> {
  const missing: string[] = [];
  for (const path of expectedRegistrations()) if ((await zk.exists(path)) === null) missing.push(path);
  return missing;
}

describe('chaos: ZooKeeper leader', () => {
  it('killing the ZooKeeper leader under load fails no query, loses no registration and reuses no id', async () => {
    expect(await missingRegistrations()).toEqual([]);
    const rec = new ChangeRecorder(dispatch.map((d) => d.url));
    const faults = new FaultLog();
    const load = new ChangeLoad(rec, changes, { workers: 3, batch: 10, batchesPerSecond: 8 });
    const pool = new Pool(merger.url, { connections: 64, keepAliveTimeout: 2000 });
    const answers: { q: string; status: number | string; start: number }[] = [];
    let stop = false;
    const queryLoad = (async () => {
      for (let k = 0; !stop; k++) {
        const q = queries[k % queries.length]!;
        const start = performance.now();
        try {
          const res = await pool.request({
            method: 'POST',
            path: '/merge',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: q, n: 5 }),
          });
          await res.body.dump();
          answers.push({ q, status: res.statusCode, start });
        } catch (err) {
          answers.push({ q, status: (err as { code?: string }).code ?? 'error', start });
        }
        await sleep(40);
      }
    })();

    const registrationsBack: string[] = [];
    let registrationsBroken: string | null = null;
    for (let round = 1; round <= 2; round++) {
      await waitFor(() => rec.acked().length > round * 40, {
        what: 'changes acknowledged',
        timeoutMs: 60_000,
      });
      const leader = await waitFor(() => cluster.zkLeader(), {
        what: 'a ZooKeeper leader',
        timeoutMs: 60_000,
      });
      await cluster.kill(leader);
      faults.add(`kill -9 ${leader} (ZooKeeper leader)`);
      const killedAt = performance.now();
      // The two others elect a new leader; sessions move to them.
      await waitFor(() => cluster.zkLeader(), { what: 'a new ZooKeeper leader', timeoutMs: 60_000 });
      faults.add('new ZooKeeper leader');
      try {
        await waitFor(async () => (await missingRegistrations()).length === 0, {
          what: 'every registration back',
          timeoutMs: 60_000,
          intervalMs: 200,
        });
        registrationsBack.push(`${((performance.now() - killedAt) / 1000).toFixed(1)} s`);
      } catch {
        registrationsBroken ??= `after killing ${leader}: missing ${(await missingRegistrations()).join(', ')}`;
      }
      await waitFor(() => rec.ops.some((o) => o.outcome === 'ok' && o.start > killedAt), {
        what: 'changes acknowledged after the kill',
        timeoutMs: 60_000,
      });
      await cluster.start(leader);
      faults.add(`restart ${leader}`);
    }
    await sleep(2000);
    stop = true;
    await queryLoad;
    await load.stop();
    await pool.close();

    const { invariants: changeInvariants, messages } = await checkChanges(
      engine,
      rec,
      snapshot,
      searchers,
      COLUMNS,
    );
    const failed = answers.find((a) => a.status !== 200);
    const invariants: Invariant[] = [
      {
        name: 'no failed query',
        broken:
          failed === undefined ? null : `"${failed.q}" answered ${failed.status} ${faults.at(failed.start)}`,
      },
      { name: 'registrations back after each kill', broken: registrationsBroken },
      ...changeInvariants,
    ];
    const okOps = rec.acked().length;
    const broken = report({
      scenario: 'zk-leader',
      operations:
        `${answers.length} POST /merge, ${rec.ops.length} POST /v1/changes (${okOps} acknowledged), ` +
        `${messages} messages, registrations back in ${registrationsBack.join(' and ')}`,
      faults: faults.entries,
      invariants,
    });
    await rec.close();
    expect(broken).toEqual([]);
  });
});
