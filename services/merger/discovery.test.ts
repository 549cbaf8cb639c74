import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import type { SearcherRegistration } from '../../core/zk-paths.js';
import type { Unwatch, ZkNode } from '../../core/zookeeper.js';
import { Discovery, type DiscoveryZk } from './discovery.js';

/** An in-memory tree with the watch semantics of core/zookeeper.ts (callback now and on change). */
class FakeZk implements DiscoveryZk {
  readonly nodes = new Map<string, string>();
  private readonly dataWatches = new Map<string, Set<(n: ZkNode | null) => void>>();
  private readonly childWatches = new Map<string, Set<(c: string[] | null) => void>>();

  async watchData(path: string, cb: (node: ZkNode | null) => void | Promise<void>): Promise<Unwatch> {
    const set = this.dataWatches.get(path) ?? new Set();
    this.dataWatches.set(path, set);
    set.add(cb as (n: ZkNode | null) => void);
    await cb(this.node(path));
    return () => set.delete(cb as (n: ZkNode | null) => void);
  }

  async watchChildren(
    path: string,
    cb: (children: string[] | null) => void | Promise<void>,
  ): Promise<Unwatch> {
    const set = this.childWatches.get(path) ?? new Set();
    this.childWatches.set(path, set);
    set.add(cb as (c: string[] | null) => void);
    await cb(this.children(path));
    return () => set.delete(cb as (c: string[] | null) => void);
  }

  async set(path: string, value: unknown): Promise<void> {
    const existed = this.nodes.has(path);
    this.nodes.set(path, JSON.stringify(value));
    for (const cb of this.dataWatches.get(path) ?? []) await cb(this.node(path));
    if (!existed) await this.childrenChanged(path);
  }

  async remove(path: string): Promise<void> {
    this.nodes.delete(path);
    for (const cb of this.dataWatches.get(path) ?? []) await cb(null);
    await this.childrenChanged(path);
  }

  private async childrenChanged(path: string): Promise<void> {
    const parent = path.slice(0, path.lastIndexOf('/'));
    for (const cb of this.childWatches.get(parent) ?? []) await cb(this.children(parent));
  }

  private node(path: string): ZkNode | null {
    const v = this.nodes.get(path);
    return v === undefined ? null : ({ data: Buffer.from(v), stat: {} } as ZkNode);
  }

  private children(path: string): string[] {
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'))
        out.push(p.slice(path.length + 1));
    }
    return out.sort();
  }
}

const ROOT = '/t';
const pointer = (version: string, columns: number) => ({
  version,
  dir: `/idx/${version}`,
  columns,
  watermark: 0,
  publishedAt: '2024-01-01T00:00:00Z',
});
const reg = (column: number, replica: string, version = 'v1'): SearcherRegistration => ({
  url: `http://127.0.0.1:${9000 + column * 10 + Number(replica.slice(1))}`,
  column,
  replica,
  version,
  appliedId: 0,
  startedAt: '2024-01-01T00:00:00Z',
});
const replicaPath = (c: number, r: string) => `${ROOT}/services/searcher/col-${c}/${r}`;

async function setup() {
  const zk = new FakeZk();
  const tables: string[][][] = [];
  const discovery = new Discovery(zk, {
    root: ROOT,
    log: silentLogger(),
    onChange: (cols) => tables.push(cols.map((c) => c.map((r) => r.replica))),
  });
  const last = () => tables[tables.length - 1];
  return { zk, discovery, tables, last };
}

describe('discovery', () => {
  it('reads the column count from the index pointer and every column replica', async () => {
    const { zk, discovery, last } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 2));
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0'));
    await zk.set(replicaPath(0, 'r1'), reg(0, 'r1'));
    await zk.set(replicaPath(1, 'r0'), reg(1, 'r0'));
    await discovery.start();
    expect(discovery.ready).toBe(true);
    expect(last()).toEqual([['r0', 'r1'], ['r0']]);
  });

  it('is ready with no columns while no index is published, and picks the layout up later', async () => {
    const { zk, discovery, last } = await setup();
    await discovery.start();
    expect(last()).toEqual([]);
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0'));
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    expect(last()).toEqual([['r0']]);
  });

  it('keeps up as replicas come and go', async () => {
    const { zk, discovery, last } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 2));
    await discovery.start();
    await zk.set(replicaPath(1, 'r0'), reg(1, 'r0'));
    expect(last()).toEqual([[], ['r0']]);
    await zk.set(replicaPath(1, 'r1'), reg(1, 'r1'));
    expect(last()).toEqual([[], ['r0', 'r1']]);
    await zk.remove(replicaPath(1, 'r0'));
    expect(last()).toEqual([[], ['r1']]);
  });

  it('prefers replicas on the current version and falls back to the others during a swap', async () => {
    const { zk, discovery, last } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0', 'v1'));
    await zk.set(replicaPath(0, 'r1'), reg(0, 'r1', 'v1'));
    await discovery.start();
    await zk.set(`${ROOT}/index/current`, pointer('v2', 1));
    expect(last()).toEqual([['r0', 'r1']]);
    await zk.set(replicaPath(0, 'r1'), reg(0, 'r1', 'v2'));
    expect(last()).toEqual([['r1']]);
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0', 'v2'));
    expect(last()).toEqual([['r0', 'r1']]);
  });

  it('follows a change in the number of columns', async () => {
    const { zk, discovery, last } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0'));
    await zk.set(replicaPath(1, 'r0'), reg(1, 'r0'));
    await discovery.start();
    expect(last()).toEqual([['r0']]);
    await zk.set(`${ROOT}/index/current`, pointer('v1', 2));
    expect(last()).toEqual([['r0'], ['r0']]);
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    expect(last()).toEqual([['r0']]);
  });

  it('ignores a registration that is not valid JSON or names another column', async () => {
    const { zk, discovery, last } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    zk.nodes.set(replicaPath(0, 'bad'), '{not json');
    await zk.set(replicaPath(0, 'other'), reg(1, 'other'));
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0'));
    await discovery.start();
    expect(last()).toEqual([['r0']]);
  });

  it('stops publishing once stopped', async () => {
    const { zk, discovery, tables } = await setup();
    await zk.set(`${ROOT}/index/current`, pointer('v1', 1));
    await discovery.start();
    const before = tables.length;
    discovery.stop();
    await zk.set(replicaPath(0, 'r0'), reg(0, 'r0'));
    expect(tables.length).toBe(before);
  });
});
