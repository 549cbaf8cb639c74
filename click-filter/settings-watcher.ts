// Keeps the click filter's run-time settings in step with ZooKeeper's config/click-filter node:
// watched through core/zookeeper.ts (re-armed after every event and after a session expiry), each
// new version parsed and validated as a whole (settings.ts). A bad document is refused and
// counted; the settings in force stay. A deleted node means the configured defaults.
//
// Concurrency: the ZkClient calls back serially per watch; `current` is swapped atomically.
import type { Logger } from '../core/logger.js';
import type { Unwatch, ZkClient } from '../core/zookeeper.js';
import { type FilterSettings, settingsFromDocument } from './settings.js';

export interface SettingsHolder {
  current: FilterSettings;
  /** True once the node has been read (or found absent) at least once. */
  loaded: boolean;
}

export async function watchSettings(options: {
  zk: ZkClient;
  path: string;
  defaults: FilterSettings;
  holder: SettingsHolder;
  log: Logger;
  onApplied?: (s: FilterSettings, version: number) => void;
  onRefused?: (err: unknown) => void;
}): Promise<Unwatch> {
  const { zk, path, defaults, holder, log } = options;
  return zk.watchData(path, (node) => {
    if (node === null) {
      holder.current = defaults;
      holder.loaded = true;
      log.info({ path }, 'no click-filter settings in ZooKeeper; using the configured defaults');
      options.onApplied?.(defaults, -1);
      return;
    }
    const source = `zookeeper v${node.stat.version}`;
    try {
      const next = settingsFromDocument(defaults, node.data.toString('utf8'), source);
      holder.current = next;
      holder.loaded = true;
      log.info(
        {
          path,
          source,
          blockedCidrs: next.blockList.cidrs.length,
          blockedUserAgents: next.blockList.userAgentPatterns.length,
          userRateMax: next.userRateMax,
          ipRateMax: next.ipRateMax,
          minDelayAfterPvMs: next.minDelayAfterPvMs,
        },
        'click-filter settings applied',
      );
      options.onApplied?.(next, node.stat.version);
    } catch (err) {
      holder.loaded = true;
      log.error(
        { path, source, err: (err as Error).message },
        'click-filter settings refused; keeping the previous ones',
      );
      options.onRefused?.(err);
    }
  });
}
