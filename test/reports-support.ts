// Shared pieces of the reports integration tests: start `imatch reports` as a real process (on the
// run's ZooKeeper, registered under the given root) and find its URL, read its registrations, and
// wait until it (and billing) has consumed every topic to its end.
import type { Admin } from 'kafkajs';
import { parseServiceRegistration, type ReportsRegistration } from '../core/registrations.js';
import { zkPaths } from '../core/zk-paths.js';
import type { ZkClient } from '../core/zookeeper.js';
import { kafkaBrokers, type ServiceProcess, spawnImatch, uniqueZkRoot, zkConnect } from './helpers/index.js';

export interface ReportTopicNames {
  pv: string;
  clicks: string;
  settlement: string;
  corrections: string;
  changes: string;
}

export function reportTopicFlags(t: ReportTopicNames): string[] {
  return [
    '--topic-pv',
    t.pv,
    '--topic-clicks',
    t.clicks,
    '--topic-settlement',
    t.settlement,
    '--topic-corrections',
    t.corrections,
    '--topic-changes',
    t.changes,
  ];
}

export interface ReportsProcess {
  proc: ServiceProcess;
  url: string;
}

/** Starts `imatch reports` on `dataDir`, registering under `zkRoot` (default: a fresh root). */
export async function startReportsProcess(
  dataDir: string,
  t: ReportTopicNames,
  zkRoot: string = uniqueZkRoot('reports'),
  extra: string[] = [],
): Promise<ReportsProcess> {
  const proc = spawnImatch(
    [
      'reports',
      '--port',
      '0',
      '--zk-connect',
      zkConnect(),
      '--zk-root',
      zkRoot,
      '--kafka-brokers',
      kafkaBrokers().join(','),
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      '--dashboard-tick-ms',
      '500',
      ...reportTopicFlags(t),
      ...extra,
    ],
    { env: { IMATCH_LOG_PRETTY: '0' } },
  );
  const m = await proc.waitForOutput(/"url":"(http[^"]+)"[^\n]*"msg":"reports listening"/, 60_000);
  return { proc, url: m[1]! };
}

/** The reports registrations under `<zkRoot>/services/reports`, by node name (none: empty). */
export async function reportsRegistrations(
  zk: ZkClient,
  zkRoot: string,
): Promise<Map<string, ReportsRegistration>> {
  const base = zkPaths(zkRoot).serviceKind('reports');
  const out = new Map<string, ReportsRegistration>();
  if ((await zk.exists(base)) === null) return out;
  for (const name of await zk.children(base)) {
    const node = await zk.get(`${base}/${name}`);
    if (node === null) continue; // removed between the listing and the read
    const r = parseServiceRegistration(node.data);
    if (r === undefined) throw new Error(`${base}/${name} is not a registration: ${node.data.toString()}`);
    out.set(name, r as ReportsRegistration);
  }
  return out;
}

/** End offset of every partition of `topics`, as `topic:partition` -> offset. */
export async function topicEnds(admin: Admin, topics: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const topic of topics)
    for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}:${p.partition}`, p.high);
  return out;
}

/** True when `positions` reach every end in `ends` (a partition with end 0 needs no position). */
export function caughtUp(
  positions: readonly { topic: string; partition: number; nextOffset: string }[],
  ends: Map<string, string>,
): boolean {
  const at = new Map(positions.map((p) => [`${p.topic}:${p.partition}`, p.nextOffset]));
  for (const [k, end] of ends) if (end !== '0' && at.get(k) !== end) return false;
  return true;
}
