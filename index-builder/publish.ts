// Makes an index version current: writes core/zk-paths.ts IndexPointer to <root>/index/current,
// which every searcher watches (and hot-swaps on). Also reads the current pointer, so pruning
// never deletes the version searchers serve.
//
// Concurrency model: async ZooKeeper calls on a caller-owned client; the last writer wins, which
// is what "publish the build that finished last" means.
import { ImatchError } from '../core/errors.js';
import { type IndexPointer, zkPaths } from '../core/zk-paths.js';
import type { ZkClient } from '../core/zookeeper.js';

/** The pointer at <root>/index/current, or null when nothing was published yet. */
export async function readCurrentPointer(zk: ZkClient, root: string): Promise<IndexPointer | null> {
  const node = await zk.get(zkPaths(root).indexCurrent);
  if (node === null || node.data.length === 0) return null;
  try {
    return JSON.parse(node.data.toString('utf8')) as IndexPointer;
  } catch (err) {
    throw new ImatchError('IM_ERR_INTERNAL', `${zkPaths(root).indexCurrent} does not hold JSON`, {
      cause: err,
    });
  }
}

/** Sets <root>/index/current to `pointer` (creating the path when needed). */
export async function publishPointer(zk: ZkClient, root: string, pointer: IndexPointer): Promise<void> {
  // The newest publish wins.
  await zk.put(zkPaths(root).indexCurrent, JSON.stringify(pointer));
}
