// A scenario's data: a BP snapshot from `imatch gen` and an index version built from it and
// published under the scenario's ZooKeeper root (both real CLI runs, in the root namespace,
// reaching the ensemble through the bridge).
import { join } from 'node:path';
import { runImatch } from '../../helpers/searcher-cluster.js';
import type { Engine } from './engine.js';

export interface DataSet {
  /** The snapshot folder (customers/offers/bidwords.jsonl, snapshot.json, queries.jsonl, changes.jsonl). */
  bp: string;
  index: string;
}

export async function snapshotAndIndex(
  engine: Engine,
  o: { offers: number; changes: number; queries: number; columns: number },
): Promise<DataSet> {
  const bp = join(engine.dataDir, 'bp');
  const index = join(engine.dataDir, 'index');
  await runImatch([
    'gen',
    '--out',
    bp,
    '--offers',
    String(o.offers),
    '--queries',
    String(o.queries),
    '--changes',
    String(o.changes),
    '--seed',
    `chaos-${engine.scenario}`,
    '--progress',
    'none',
    '--log-level',
    'warn',
  ]);
  await runImatch([
    'build-index',
    '--snapshot',
    bp,
    '--columns',
    String(o.columns),
    '--out',
    index,
    '--publish',
    '--zk-connect',
    engine.cluster.zkConnect,
    '--zk-root',
    engine.zkRoot,
    '--progress',
    'off',
    '--log-level',
    'warn',
  ]);
  return { bp, index };
}
