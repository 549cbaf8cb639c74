import { appendFile, mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeMessage } from '../../../core/model.js';
import { Wal, type WalRecord } from './wal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imatch-wal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const msg = (id: number): ChangeMessage => ({
  entity: 'customer',
  op: 'upsert',
  data: { id: `c${id}`, name: `customer ${id}`, status: 'online', dailyBudgetMicros: 1_000_000 },
  id,
  acceptedAt: '2026-01-01T00:00:00.000Z',
});
const rec = (id: number, offset = id - 1, partition = 0): WalRecord => ({
  partition,
  offset,
  message: msg(id),
});

async function all(wal: Wal, afterId: number): Promise<number[]> {
  const ids: number[] = [];
  for await (const chunk of wal.replay(afterId, 3)) ids.push(...chunk.map((m) => m.id));
  return ids;
}

describe('write-ahead log', () => {
  it('gives back every stored message past a watermark, in order, after reopening', async () => {
    const wal = await Wal.open(dir);
    await wal.append([rec(1), rec(2), rec(3)]);
    await wal.append([rec(4)]);
    await wal.append([rec(5), rec(6), rec(7)]);
    await wal.close();

    const again = await Wal.open(dir);
    expect(await all(again, 0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await all(again, 4)).toEqual([5, 6, 7]);
    expect(again.lastId).toBe(7);
    expect(again.positions().get(0)).toBe(7);
    await again.close();
  });

  it('keeps the full message content', async () => {
    const wal = await Wal.open(dir);
    await wal.append([rec(9)]);
    const got: ChangeMessage[] = [];
    for await (const chunk of wal.replay(0)) got.push(...chunk);
    expect(got).toEqual([msg(9)]);
    await wal.close();
  });

  it('cuts a torn last line after a crash and keeps appending after it', async () => {
    const wal = await Wal.open(dir);
    await wal.append([rec(1), rec(2)]);
    await wal.close();
    const [file] = await readdir(dir);
    // A crash in the middle of writing the next batch: half a line at the end.
    await appendFile(join(dir, file!), '0badc0de {"k":"m","p":0,"o":2,"m":{"entity":"cust');

    const again = await Wal.open(dir);
    expect(again.stats().truncatedBytes).toBeGreaterThan(0);
    expect(await all(again, 0)).toEqual([1, 2]);
    expect(again.positions().get(0)).toBe(2);
    await again.append([rec(3)]);
    await again.close();

    const third = await Wal.open(dir);
    expect(await all(third, 0)).toEqual([1, 2, 3]);
    expect(third.stats().truncatedBytes).toBe(0);
    await third.close();
  });

  it('cuts a line whose checksum does not match', async () => {
    const wal = await Wal.open(dir);
    await wal.append([rec(1), rec(2)]);
    await wal.close();
    const [file] = await readdir(dir);
    const path = join(dir, file!);
    const text = await readFile(path, 'utf8');
    // Flip one digit inside the last message's JSON.
    const at = text.lastIndexOf('customer 2');
    const damaged = `${text.slice(0, at)}customer 3${text.slice(at + 'customer 2'.length)}`;
    await truncate(path, 0);
    await appendFile(path, damaged);
    const again = await Wal.open(dir);
    expect(await all(again, 0)).toEqual([1]);
    await again.close();
  });

  it('refuses to open when an older segment is damaged', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 200 });
    for (let id = 1; id <= 6; id++) await wal.append([rec(id)]);
    await wal.close();
    const files = (await readdir(dir)).sort();
    expect(files.length).toBeGreaterThan(2);
    await appendFile(join(dir, files[0]!), 'garbage\n');
    await expect(Wal.open(dir)).rejects.toThrow(/damaged/);
  });

  it('rolls segments and prunes those entirely at or below the watermark, never the newest', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 300 });
    for (let id = 1; id <= 10; id++) await wal.append([rec(id)]);
    const before = wal.stats().segments;
    expect(before).toBeGreaterThan(3);
    const deleted = await wal.prune(6);
    expect(deleted).toBeGreaterThan(0);
    // Everything above the watermark is still there.
    expect(await all(wal, 6)).toEqual([7, 8, 9, 10]);
    // Pruning past everything keeps the newest segment (it is being written).
    await wal.prune(100);
    expect(wal.stats().segments).toBe(1);
    await wal.close();

    // Positions survive pruning: the newest segment's header carries them.
    const again = await Wal.open(dir);
    expect(again.positions().get(0)).toBe(10);
    await again.close();
  });

  it('keeps positions of partitions whose messages were not stored', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 200 });
    await wal.append([rec(1, 0, 0)], new Map([[1, 50]]));
    // Roll a few segments so the header of a newer one carries partition 1's position.
    for (let id = 2; id <= 6; id++) await wal.append([rec(id, id - 1, 0)]);
    await wal.prune(5);
    await wal.close();
    const again = await Wal.open(dir);
    expect(again.positions().get(1)).toBe(50);
    expect(again.positions().get(0)).toBe(6);
    await again.close();
  });

  it('skips whole segments below the watermark without losing later ones', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 250 });
    for (let id = 1; id <= 20; id++) await wal.append([rec(id)]);
    expect(await all(wal, 15)).toEqual([16, 17, 18, 19, 20]);
    expect(await all(wal, 20)).toEqual([]);
    await wal.close();
  });
});
