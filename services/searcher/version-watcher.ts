// Watches `<root>/index/current` (core/zk-paths.ts IndexPointer) and hands every new, well-formed
// pointer to the index holder. The holder does the loading and the switch; this module only turns
// ZooKeeper node contents into pointers.
//
// Concurrency: core/zookeeper.ts watchData runs its callback serially per watch and at least once
// for the latest state after a burst of changes. The callback here never awaits a load (the
// holder's request() returns at once and coalesces), so a slow load never delays the watch.
import type { Logger } from '../../core/logger.js';
import { type IndexPointer, zkPaths } from '../../core/zk-paths.js';
import type { Unwatch, ZkClient, ZkNode } from '../../core/zookeeper.js';

export interface VersionWatcherOptions {
  zk: Pick<ZkClient, 'watchData'>;
  zkRoot: string;
  log: Logger;
  /** Called with each new pointer. */
  onPointer: (pointer: IndexPointer) => void;
  /** Called when the node holds something that is not an IndexPointer (counted as a refused swap). */
  onBadPointer?: (reason: string) => void;
}

/** Parses the node's data; a reason string when it is not a usable IndexPointer. */
export function parsePointer(data: Buffer): IndexPointer | string {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.version !== 'string' || v.version === '') problems.push('version must be a non-empty string');
  if (typeof v.dir !== 'string' || v.dir === '') problems.push('dir must be a non-empty string');
  if (!Number.isInteger(v.columns) || (v.columns as number) < 1)
    problems.push('columns must be an integer >= 1');
  if (!Number.isInteger(v.watermark) || (v.watermark as number) < 0) {
    problems.push('watermark must be an integer >= 0');
  }
  if (problems.length > 0) return problems.join('; ');
  return {
    version: v.version as string,
    dir: v.dir as string,
    columns: v.columns as number,
    watermark: v.watermark as number,
    publishedAt: typeof v.publishedAt === 'string' ? v.publishedAt : '',
  };
}

/** Starts watching; resolves once the current state was read (and handed over when present). */
export async function watchIndexVersion(options: VersionWatcherOptions): Promise<Unwatch> {
  const path = zkPaths(options.zkRoot).indexCurrent;
  const log = options.log.child({ component: 'version-watcher' });
  return options.zk.watchData(path, (node: ZkNode | null) => {
    if (node === null) {
      log.info({ path }, 'no index version is published yet; waiting for one');
      return;
    }
    const pointer = parsePointer(node.data);
    if (typeof pointer === 'string') {
      log.error({ path, reason: pointer }, `ignoring ${path}: ${pointer}`);
      options.onBadPointer?.(pointer);
      return;
    }
    log.info(
      { version: pointer.version, dir: pointer.dir, columns: pointer.columns },
      'index version published',
    );
    options.onPointer(pointer);
  });
}
