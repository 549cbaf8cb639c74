// Discovery of searcher replicas from ZooKeeper: the number of columns comes from
// `<root>/index/current` (IndexPointer.columns); each column's replicas are the children of
// `<root>/services/searcher/col-<c>`, whose data is a SearcherRegistration. Every change (pointer,
// a column's child set, a replica's data such as its version after a swap) publishes the whole
// replica table to `onChange`, which the balancer reconciles.
//
// Which replicas serve a column: those on the pointer's version when any is; otherwise every
// registered replica of the column (a swap in progress keeps the old version serving rather than
// dropping the column).
//
// Concurrency: core/zookeeper.ts delivers each watch's callbacks serially and re-arms watches
// after reconnects and session expiry; callbacks of different watches interleave at awaits, so
// every callback re-checks that what it updates is still wanted before touching the table.
import type { Logger } from '../../core/logger.js';
import { type IndexPointer, type SearcherRegistration, zkPaths } from '../../core/zk-paths.js';
import type { Unwatch, ZkClient, ZkNode } from '../../core/zookeeper.js';

export type DiscoveryZk = Pick<ZkClient, 'watchData' | 'watchChildren'>;

export interface DiscoveryOptions {
  root: string;
  log: Logger;
  /** Called with `columns[c]` = column c's serving replicas, after every change. */
  onChange: (columns: SearcherRegistration[][]) => void;
}

interface ColumnWatch {
  unwatch: Unwatch | undefined;
  closed: boolean;
  /** Replica node name -> its data watch and last registration. */
  replicas: Map<string, { unwatch: Unwatch | undefined; registration: SearcherRegistration | undefined }>;
}

export class Discovery {
  private readonly paths: ReturnType<typeof zkPaths>;
  private pointer: IndexPointer | undefined;
  private columns: ColumnWatch[] = [];
  private unwatchPointer: Unwatch | undefined;
  private stopped = false;
  private discovered = false;

  constructor(
    private readonly zk: DiscoveryZk,
    private readonly options: DiscoveryOptions,
  ) {
    this.paths = zkPaths(options.root);
  }

  /** True once the pointer and every column's replicas have been read. */
  get ready(): boolean {
    return this.discovered;
  }

  get version(): string | undefined {
    return this.pointer?.version;
  }

  /** Reads everything once (resolves when the first table is published), then keeps watching. */
  async start(): Promise<void> {
    this.unwatchPointer = await this.zk.watchData(this.paths.indexCurrent, (node) => this.onPointer(node));
    this.discovered = true;
    this.publish();
  }

  stop(): void {
    this.stopped = true;
    this.unwatchPointer?.();
    for (const col of this.columns) this.closeColumn(col);
    this.columns = [];
  }

  private async onPointer(node: ZkNode | null): Promise<void> {
    if (this.stopped) return;
    const pointer = node === null ? undefined : parsePointer(node.data, this.options.log);
    if (node !== null && pointer === undefined) return; // keep serving the last good layout
    this.pointer = pointer;
    const wanted = pointer?.columns ?? 0;
    this.options.log.info({ version: pointer?.version, columns: wanted }, 'index pointer');
    for (const col of this.columns.splice(wanted)) this.closeColumn(col);
    const added: Promise<void>[] = [];
    for (let c = this.columns.length; c < wanted; c++) {
      const col: ColumnWatch = { unwatch: undefined, closed: false, replicas: new Map() };
      this.columns.push(col);
      added.push(this.watchColumn(c, col));
    }
    await Promise.all(added);
    if (this.discovered) this.publish();
  }

  private async watchColumn(c: number, col: ColumnWatch): Promise<void> {
    const unwatch = await this.zk.watchChildren(this.paths.searcherColumn(c), (children) =>
      this.onChildren(c, col, children ?? []),
    );
    if (col.closed) unwatch();
    else col.unwatch = unwatch;
  }

  private async onChildren(c: number, col: ColumnWatch, children: string[]): Promise<void> {
    if (col.closed) return;
    const present = new Set(children);
    let changed = false;
    for (const [name, replica] of col.replicas) {
      if (present.has(name)) continue;
      replica.unwatch?.();
      col.replicas.delete(name);
      changed = true;
    }
    const added: Promise<void>[] = [];
    for (const name of children) {
      if (col.replicas.has(name)) continue;
      const entry = { unwatch: undefined as Unwatch | undefined, registration: undefined };
      col.replicas.set(name, entry);
      added.push(
        this.zk
          .watchData(this.paths.searcherReplica(c, name), (node) => {
            if (col.closed || col.replicas.get(name) !== entry) return;
            const reg = node === null ? undefined : parseRegistration(node.data, c, name, this.options.log);
            (entry as { registration: SearcherRegistration | undefined }).registration = reg;
            if (this.discovered) this.publish();
          })
          .then((unwatch) => {
            if (col.closed || col.replicas.get(name) !== entry) unwatch();
            else entry.unwatch = unwatch;
          }),
      );
    }
    await Promise.all(added);
    if ((changed || added.length > 0) && this.discovered) this.publish();
  }

  private closeColumn(col: ColumnWatch): void {
    col.closed = true;
    col.unwatch?.();
    for (const r of col.replicas.values()) r.unwatch?.();
    col.replicas.clear();
  }

  /** The serving replicas per column, as `onChange` receives them. */
  table(): SearcherRegistration[][] {
    const version = this.pointer?.version;
    return this.columns.map((col) => {
      const all: SearcherRegistration[] = [];
      for (const r of col.replicas.values()) if (r.registration !== undefined) all.push(r.registration);
      const current = all.filter((r) => r.version === version);
      return current.length > 0 ? current : all;
    });
  }

  private publish(): void {
    if (this.stopped) return;
    this.options.onChange(this.table());
  }
}

function parsePointer(data: Buffer, log: Logger): IndexPointer | undefined {
  try {
    const p = JSON.parse(data.toString('utf8')) as Partial<IndexPointer>;
    if (typeof p.version === 'string' && Number.isInteger(p.columns) && (p.columns as number) >= 0) {
      return p as IndexPointer;
    }
  } catch {
    // reported below
  }
  log.error(
    { data: data.toString('utf8').slice(0, 200) },
    'index pointer is not a valid IndexPointer; ignored',
  );
  return undefined;
}

function parseRegistration(
  data: Buffer,
  column: number,
  name: string,
  log: Logger,
): SearcherRegistration | undefined {
  try {
    const r = JSON.parse(data.toString('utf8')) as Partial<SearcherRegistration>;
    if (typeof r.url === 'string' && /^https?:\/\//.test(r.url) && r.column === column) {
      return { ...r, replica: typeof r.replica === 'string' ? r.replica : name } as SearcherRegistration;
    }
  } catch {
    // reported below
  }
  log.warn(
    { column, replica: name, data: data.toString('utf8').slice(0, 200) },
    'searcher registration ignored',
  );
  return undefined;
}
