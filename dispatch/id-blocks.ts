// Message-id allocation: ids are handed out from blocks reserved in ZooKeeper, so a restart or a
// failover never reuses an id or goes back. The znode (zkPaths(root).dispatchIds) holds
// {"next": first id of the next free block}; a block is reserved by a compare-and-set on the
// znode's version, so two instances that both believe they lead still never get the same block.
//
// Concurrency: one IdBlocks per dispatch instance, used only by the single writer loop
// (dispatch/writer.ts), so take() never runs twice at once. reset() drops the current block:
// the writer calls it whenever leadership is (re)gained, so a new leader always starts a NEW
// block above everything any earlier leader reserved.
import { ImatchError } from '../core/errors.js';
import type { ZkClient } from '../core/zookeeper.js';

/** The versioned znode holding {next}; zkIdCell (below) implements it over ZooKeeper. */
export interface IdCell {
  /** Current `next` and the znode version, or undefined when the znode does not exist yet. */
  read(): Promise<{ next: number; version: number } | undefined>;
  /** Creates the znode holding `next`; false when another instance created it first. */
  create(next: number): Promise<boolean>;
  /** Writes `next` if the znode is still at `version`; false when someone else wrote first. */
  compareAndSet(next: number, version: number): Promise<boolean>;
}

export interface IdBlocksOptions {
  /** Ids per reserved block. */
  blockSize: number;
  /** Called after each reservation (metrics, logs). */
  onReserve?: (first: number, end: number) => void;
  /** Most compare-and-set attempts before giving up with IM_ERR_ZK_UNAVAILABLE; default 50. */
  maxAttempts?: number;
}

/** Ids start at 1, so watermark 0 means "no change message included". */
export const FIRST_ID = 1;

export class IdBlocks {
  #cell: IdCell;
  #opts: IdBlocksOptions;
  /** Next id to hand out, and the end (exclusive) of the current block. */
  #next = 0;
  #end = 0;
  #reserved = 0;

  constructor(cell: IdCell, opts: IdBlocksOptions) {
    if (!Number.isSafeInteger(opts.blockSize) || opts.blockSize < 1) {
      throw new ImatchError('IM_ERR_CONFIG', `idBlockSize must be a positive integer, got ${opts.blockSize}`);
    }
    this.#cell = cell;
    this.#opts = opts;
  }

  /** Forget the current block; the next take() reserves a fresh one. */
  reset(): void {
    this.#next = 0;
    this.#end = 0;
  }

  /** Ids left in the current block. */
  get remaining(): number {
    return this.#end - this.#next;
  }

  /** Blocks reserved by this instance since it started. */
  get blocksReserved(): number {
    return this.#reserved;
  }

  /**
   * `count` fresh ids, strictly increasing (consecutive within a block; a gap where a batch
   * spans two blocks or a block was abandoned).
   */
  async take(count: number): Promise<number[]> {
    const ids: number[] = [];
    while (ids.length < count) {
      if (this.#next >= this.#end) await this.#reserve();
      const n = Math.min(count - ids.length, this.#end - this.#next);
      for (let i = 0; i < n; i++) ids.push(this.#next + i);
      this.#next += n;
    }
    return ids;
  }

  async #reserve(): Promise<void> {
    const size = this.#opts.blockSize;
    const attempts = this.#opts.maxAttempts ?? 50;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const cur = await this.#cell.read();
      let first: number;
      let won: boolean;
      if (cur === undefined) {
        first = FIRST_ID;
        won = await this.#cell.create(first + size);
      } else {
        if (!Number.isSafeInteger(cur.next) || cur.next < FIRST_ID) {
          throw new ImatchError('IM_ERR_INTERNAL', `dispatch id znode holds an invalid next id: ${cur.next}`);
        }
        first = cur.next;
        won = await this.#cell.compareAndSet(first + size, cur.version);
      }
      if (won) {
        this.#next = first;
        this.#end = first + size;
        this.#reserved++;
        this.#opts.onReserve?.(first, first + size);
        return;
      }
    }
    throw new ImatchError(
      'IM_ERR_ZK_UNAVAILABLE',
      `could not reserve an id block after ${attempts} attempts`,
    );
  }
}

/** The {next} znode over core/zookeeper.ts; parents are created on first use. */
export function zkIdCell(zk: ZkClient, path: string): IdCell {
  const parse = (data: Buffer): number => {
    const v = JSON.parse(data.toString('utf8')) as { next?: unknown };
    return typeof v.next === 'number' ? v.next : Number.NaN;
  };
  return {
    async read() {
      const node = await zk.get(path);
      return node === null ? undefined : { next: parse(node.data), version: node.stat.version };
    },
    async create(next) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (parent !== '') await zk.mkdirp(parent);
      try {
        await zk.create(path, JSON.stringify({ next }));
        return true;
      } catch (err) {
        if (err instanceof ImatchError && err.code === 'IM_ERR_ZK_NODE_EXISTS') return false;
        throw err;
      }
    },
    async compareAndSet(next, version) {
      try {
        await zk.set(path, JSON.stringify({ next }), version);
        return true;
      } catch (err) {
        if (err instanceof ImatchError && err.code === 'IM_ERR_ZK_BAD_VERSION') return false;
        throw err;
      }
    },
  };
}
