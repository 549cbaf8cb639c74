// Housekeeping of an index store folder: removes old versions beyond a count (never a protected
// one, such as the version ZooKeeper points at) and temp folders left by builds that died.
//
// Concurrency model: async; safe against a concurrent build because a live build's temp folder
// carries its pid and is only removed once that process is gone.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listVersions, TMP_PREFIX } from '../core/index-manifest.js';
import type { Logger } from '../core/logger.js';

/** Deletes the oldest versions so that at most `keep` remain, sparing `protect`. Returns what went. */
export async function pruneVersions(
  outDir: string,
  keep: number,
  protect: ReadonlySet<string>,
  log?: Logger,
): Promise<string[]> {
  const versions = await listVersions(outDir); // oldest first
  const removed: string[] = [];
  let excess = versions.length - Math.max(1, keep);
  for (const v of versions) {
    if (excess <= 0) break;
    if (protect.has(v)) continue;
    await rm(join(outDir, v), { recursive: true, force: true });
    removed.push(v);
    excess--;
    log?.info({ version: v }, 'pruned old index version');
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.tmp-<version>-<pid>` folders whose build process no longer exists. */
export async function removeStaleTemps(outDir: string, log?: Logger): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const pid = Number(name.slice(name.lastIndexOf('-') + 1));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) continue;
    if (pid === process.pid) continue;
    await rm(join(outDir, name), { recursive: true, force: true });
    removed.push(name);
    log?.info({ dir: name }, 'removed the temp folder of a build that did not finish');
  }
  return removed;
}
