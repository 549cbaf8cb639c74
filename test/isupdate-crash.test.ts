// isupdate under a crash and under a daily switch, with real processes, ZooKeeper and Kafka:
//   1. two searcher columns consume while the BP posts ~1,000 changes/s through dispatch; one
//      searcher is killed with SIGKILL mid-stream and restarted on the same WAL, then the dispatch
//      leader is killed with SIGKILL and a standby instance takes over. Afterwards both
//      columns hold exactly the snapshot plus every acknowledged change (reference written in
//      test/helpers/change-reference.ts, independent of the index code): nothing lost, nothing
//      applied twice or out of order.
//   2. while changes keep flowing, a new full version is built from a snapshot that contains the
//      changes up to some watermark and published; each searcher replays its own WAL past that
//      watermark into the new version before it serves. Same equality afterwards, on the new
//      version. A new replica with an empty WAL then catches up from Kafka to the same content.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../core/kafka.js';
import { ReferenceState, readChanges } from './helpers/change-reference.js';
import {
  ChangeClient,
  type DispatchProcess,
  type DumpAnswer,
  dumpWhenApplied,
  Feeder,
  type IsSearcher,
  markerChange,
  startDispatch,
  startIsSearcher,
} from './helpers/incremental.js';
import { testKafka, uniqueTopic, uniqueZkRoot } from './helpers/index.js';
import { buildIndexVersion, runImatch } from './helpers/searcher-cluster.js';

const COLUMNS = 2;
const OFFERS = 3000;
const RATE = 1000;
const BATCH = 20;

/** JSON with sorted keys, so two equal objects print the same whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Ids whose content differs between the searcher's dump and the reference (first 20 of each kind). */
function differences(actual: DumpAnswer['dump'], expected: ReturnType<ReferenceState['column']>) {
  const keyed = (rows: unknown[], id: (r: never) => string) =>
    new Map(rows.map((r) => [id(r as never), canonical(r)]));
  const compare = (a: Map<string, string>, e: Map<string, string>) => {
    const out: string[] = [];
    for (const [k, v] of e) if (a.get(k) !== v) out.push(a.has(k) ? `changed ${k}` : `missing ${k}`);
    for (const k of a.keys()) if (!e.has(k)) out.push(`extra ${k}`);
    return out.slice(0, 20);
  };
  return {
    customers: compare(
      keyed(actual.customers, (c: { id: string }) => c.id),
      keyed(expected.customers, (c: { id: string }) => c.id),
    ),
    offers: compare(
      keyed(actual.offers, (o: { offer: { id: string } }) => o.offer.id),
      keyed(expected.offers, (o: { offer: { id: string } }) => o.offer.id),
    ),
    pendingBidwords: compare(
      keyed(actual.pendingBidwords, (b: { id: string }) => b.id),
      keyed(expected.pendingBidwords, (b: { id: string }) => b.id),
    ),
  };
}

const noDifferences = { customers: [], offers: [], pendingBidwords: [] };

let tmp: string;
let snapshot: ReferenceState;
let changes: unknown[];
const root = uniqueZkRoot('isupdate-crash');
const topic = uniqueTopic('changes');
let client: ChangeClient;
let leader: DispatchProcess;
const searchers: IsSearcher[] = [];
let marker = 0;

async function startColumn(column: number): Promise<IsSearcher> {
  return startIsSearcher({
    zkRoot: root,
    topic,
    column,
    replica: 'a',
    dataDir: join(tmp, `data-${column}`),
    batch: 20,
  });
}

/** Sends a marker change (every column applies it) and returns each column's dump once applied. */
async function quiescentDumps(version?: string): Promise<DumpAnswer[]> {
  const [id] = await client.postUntilAccepted([markerChange(++marker)]);
  try {
    return await Promise.all(searchers.map((s) => dumpWhenApplied(s.url, id!, 120_000, version)));
  } catch (err) {
    // Say what the searchers said (errors, exits) instead of only "timed out".
    const said = searchers.map(
      (s) =>
        `--- searcher col ${s.column} (exit ${s.proc.exitCode()}):\n${s.proc
          .output()
          .split('\n')
          .filter((l) => /"level":(50|60)|Error|exited/.test(l))
          .slice(-10)
          .join('\n')
          .slice(-6000)}`,
    );
    throw new Error(`${(err as Error).message}\n${said.join('\n')}`);
  }
}

function expectEqualToReference(dumps: DumpAnswer[]): void {
  const reference = snapshot.clone();
  reference.apply(client.ackedInIdOrder());
  for (const d of dumps) {
    const expected = reference.column(d.column, COLUMNS);
    expect(differences(d.dump, expected), `column ${d.column} differs from the reference`).toEqual(
      noDifferences,
    );
    expect(d.dump.offers.length).toBe(expected.offers.length);
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-isupdate-crash-'));
  const snapDir = join(tmp, 'bp');
  await runImatch([
    'gen',
    '--out',
    snapDir,
    '--offers',
    String(OFFERS),
    '--queries',
    '10',
    '--changes',
    '30000',
    '--seed',
    'isupdate-crash',
    '--progress',
    'none',
    '--log-level',
    'warn',
  ]);
  snapshot = await ReferenceState.load(snapDir);
  changes = await readChanges(join(snapDir, 'changes.jsonl'));
  await buildIndexVersion(snapDir, join(tmp, 'index'), COLUMNS, { zkRoot: root });
  await ensureTopics(testKafka(), [topic]);
  // Two dispatch instances: the first leads, the second stands by and takes over when it dies.
  leader = await startDispatch(root, topic);
  const standby = await startDispatch(root, topic);
  client = new ChangeClient([leader.url, standby.url]);
  for (let c = 0; c < COLUMNS; c++) searchers.push(await startColumn(c));
}, 300_000);

afterAll(async () => {
  await client?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('isupdate', () => {
  it('after kill -9 and restart mid-stream, and after a daily switch mid-stream, each column equals snapshot + every acknowledged change', async () => {
    // Both columns consume before the stream starts (so the kill hits a live consumer).
    await quiescentDumps();
    const feeder = new Feeder(client, changes.slice(0, 12_000), RATE, BATCH);
    await new Promise((r) => setTimeout(r, 4000));
    const victim = searchers[0]!;
    await victim.proc.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const restarted = await startColumn(0);
    searchers[0] = restarted;
    // Then the dispatch leader dies too: the standby takes over (new id block) and the BP resends
    // what was not acknowledged. Every acknowledged change must still reach both columns.
    await new Promise((r) => setTimeout(r, 1500));
    await leader.proc.stop('SIGKILL');
    await feeder.done();
    expect(feeder.failures).toBeGreaterThan(0);

    const dumps = await quiescentDumps();
    expectEqualToReference(dumps);
    // The restarted replica recovered from its own WAL (not only from Kafka).
    const replayed = /"replayed":(\d+)[^\n]*replayed write-ahead log/.exec(restarted.proc.output());
    expect(Number(replayed?.[1] ?? 0)).toBeGreaterThan(0);

    // (One test: a process started inside a test is stopped when that test ends.)
    // A new full version published while changes flow is caught up from the WAL before it serves.
    const feeder2 = new Feeder(client, changes.slice(12_000, 24_000), RATE, BATCH);
    await new Promise((r) => setTimeout(r, 3000));
    // The daily build: the BP's state up to the last acknowledged id, taken while changes flow.
    const upTo = snapshot.clone();
    upTo.apply(client.ackedInIdOrder());
    const snap2 = join(tmp, 'bp2');
    await upTo.writeSnapshot(snap2);
    const built = await buildIndexVersion(snap2, join(tmp, 'index'), COLUMNS, { zkRoot: root });
    expect(built.manifest.watermark).toBe(upTo.appliedId);
    await feeder2.done();
    expect(feeder2.failures).toBe(0);

    const after = await quiescentDumps(built.version);
    for (const d of after) expect(d.watermark).toBe(upTo.appliedId);
    expectEqualToReference(after);
    for (const s of searchers) {
      expect(s.proc.output()).toMatch(
        new RegExp(`"version":"${built.version}"[^\\n]*replayed write-ahead log past the version watermark`),
      );
    }

    // A new replica with no WAL catches up from Kafka alone and holds the same content.
    const fresh = await startIsSearcher({
      zkRoot: root,
      topic,
      column: 1,
      replica: 'b',
      dataDir: join(tmp, 'data-1b'),
      batch: 100,
    });
    searchers.push(fresh);
    const withNew = await quiescentDumps(built.version);
    expectEqualToReference(withNew);
    expect(withNew.at(-1)!.column).toBe(1);
  });
});
