// What each service writes into its ephemeral ZooKeeper registration under
// `<root>/services/<kind>/<id>`: the contracts between a service and whoever discovers it (the
// blender finds mergers here, billing finds dispatch, operators find everything). Every service's
// node carries ServiceRegistration; the click filter, billing and reports add what identifies their
// run or their data.
// The searcher's richer node (column, version, applied id) is SearcherRegistration (zk-paths.ts).
import { hostname } from 'node:os';
import type { SearcherRegistration } from './zk-paths.js';

export type { SearcherRegistration } from './zk-paths.js';

/** The registration every HTTP service writes. */
export interface ServiceRegistration {
  /** Base URL other services call, never with a 0.0.0.0 host. */
  url: string;
  /** The node name under `<root>/services/<kind>`. */
  id: string;
  startedAt: string;
  pid: number;
  /** The machine's host name. */
  host: string;
}

export interface MergerRegistration extends ServiceRegistration {
  /** `host:port` of its frame RPC listener for /merge (core/frame-rpc.ts), when it has one. */
  frames?: string;
}
export type BlenderRegistration = ServiceRegistration;
export type DispatchRegistration = ServiceRegistration;

export interface ClickFilterRegistration extends ServiceRegistration {
  /** This run's id, written into every decision (unique per process run). */
  instance: string;
}

export interface BillingRegistration extends ServiceRegistration {
  /** The ledger's own id (the node name, and the suffix of the consumer group). */
  ledgerId: string;
}

export interface ReportsRegistration extends ServiceRegistration {
  /** The analytics database's own id (the suffix of its consumer group; new file, new id). */
  dbId: string;
}

export type AnyRegistration =
  | ServiceRegistration
  | ClickFilterRegistration
  | BillingRegistration
  | ReportsRegistration
  | SearcherRegistration;

/** A registration of this process, now. */
export function serviceRegistration(url: string, id: string): ServiceRegistration {
  return { url, id, startedAt: new Date().toISOString(), pid: process.pid, host: hostname() };
}

/**
 * The registration in a node's data, or undefined when it has no http(s) url. A registration
 * written by an older or foreign writer may carry only `url`: its id is then the node's name.
 */
export function parseServiceRegistration(
  data: Buffer | string,
  nodeName?: string,
): ServiceRegistration | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Partial<ServiceRegistration>;
  if (typeof r.url !== 'string' || !/^https?:\/\/[^\s/]+/.test(r.url)) return undefined;
  if (typeof r.id !== 'string' || r.id === '') {
    if (nodeName === undefined) return undefined;
    return { ...r, id: nodeName } as ServiceRegistration;
  }
  return r as ServiceRegistration;
}
