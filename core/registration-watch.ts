// Watching the registrations of one kind of service (`<root>/services/<kind>`): calls onChange
// with every readable registration after each change of the set of nodes. The blender follows its
// mergers this way; a node that is not a registration is logged and left out.
//
// Concurrency: core/zookeeper.ts delivers a watch's callbacks serially; each callback reads the
// children's data and then replaces the whole list at once.
import type { Logger } from './logger.js';
import { parseServiceRegistration, type ServiceRegistration } from './registrations.js';
import type { Unwatch, ZkClient } from './zookeeper.js';

export interface RegistrationWatchOptions {
  /** e.g. zkPaths(root).serviceKind('merger'). */
  path: string;
  log: Logger;
  onChange: (registrations: ServiceRegistration[]) => void;
}

export async function watchRegistrations(
  zk: Pick<ZkClient, 'watchChildren' | 'get'>,
  o: RegistrationWatchOptions,
): Promise<Unwatch> {
  return zk.watchChildren(o.path, async (children) => {
    const found: ServiceRegistration[] = [];
    for (const child of children ?? []) {
      try {
        const node = await zk.get(`${o.path}/${child}`);
        if (node === null) continue; // gone meanwhile: the next callback has the new set
        const registration = parseServiceRegistration(node.data, child);
        if (registration === undefined) o.log.warn({ child }, 'not a service registration; ignored');
        else found.push(registration);
      } catch (err) {
        o.log.warn({ child, err }, 'unreadable registration');
      }
    }
    o.onChange(found);
  });
}
