import { describe, expect, it } from 'vitest';
import { IdBlocks, type IdCell } from './id-blocks.js';

/** An in-memory znode with ZooKeeper's version semantics, shared by several "instances". */
class MemoryCell implements IdCell {
  value: { next: number; version: number } | undefined;
  /** Called before each compare-and-set: lets a test slip in a competing write. */
  beforeSet: (() => void) | undefined;
  async read() {
    return this.value === undefined ? undefined : { ...this.value };
  }
  async create(next: number) {
    if (this.value !== undefined) return false;
    this.value = { next, version: 0 };
    return true;
  }
  async compareAndSet(next: number, version: number) {
    this.beforeSet?.();
    if (this.value === undefined || this.value.version !== version) return false;
    this.value = { next, version: version + 1 };
    return true;
  }
}

describe('message-id blocks', () => {
  it('starts at 1 and hands out consecutive ids within a block', async () => {
    const cell = new MemoryCell();
    const ids = new IdBlocks(cell, { blockSize: 10 });
    expect(await ids.take(3)).toEqual([1, 2, 3]);
    expect(await ids.take(2)).toEqual([4, 5]);
    expect(cell.value?.next).toBe(11);
  });

  it('spans blocks when a batch is larger than what is left', async () => {
    const cell = new MemoryCell();
    const ids = new IdBlocks(cell, { blockSize: 4 });
    expect(await ids.take(10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ids.blocksReserved).toBe(3);
  });

  it('never reuses or goes back after a restart: the new instance starts a new block', async () => {
    const cell = new MemoryCell();
    const first = new IdBlocks(cell, { blockSize: 100 });
    const before = await first.take(5);
    // The process dies; its unused ids 6..100 are abandoned.
    const second = new IdBlocks(cell, { blockSize: 100 });
    const after = await second.take(5);
    expect(after).toEqual([101, 102, 103, 104, 105]);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
  });

  it('reset() abandons the current block (a regained leadership starts fresh)', async () => {
    const cell = new MemoryCell();
    const ids = new IdBlocks(cell, { blockSize: 10 });
    await ids.take(2);
    ids.reset();
    expect(await ids.take(1)).toEqual([11]);
  });

  it('two instances racing for a block never get the same ids', async () => {
    const cell = new MemoryCell();
    const a = new IdBlocks(cell, { blockSize: 10 });
    const b = new IdBlocks(cell, { blockSize: 10 });
    await a.take(1); // creates the node: block 1..10
    // While a reserves its next block, b wins the same version first.
    let raced = false;
    cell.beforeSet = () => {
      if (raced) return;
      raced = true;
      cell.value = { next: (cell.value?.next ?? 0) + 10, version: (cell.value?.version ?? 0) + 1 };
    };
    a.reset();
    const fromA = await a.take(3);
    cell.beforeSet = undefined;
    const fromB = await b.take(3);
    expect(fromA).toEqual([21, 22, 23]); // 11..20 went to the competitor
    expect(fromB).toEqual([31, 32, 33]);
  });

  it('gives up with a retriable ZooKeeper error when it keeps losing', async () => {
    const cell = new MemoryCell();
    cell.value = { next: 1, version: 0 };
    cell.compareAndSet = async () => false;
    const ids = new IdBlocks(cell, { blockSize: 10, maxAttempts: 3 });
    await expect(ids.take(1)).rejects.toMatchObject({ code: 'IM_ERR_ZK_UNAVAILABLE' });
  });
});
