import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { defaultWalDir, openIsUpdate } from './runtime.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imatch-isu-runtime-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (topic: string, column = 0, zkRoot = '/imatch') => ({
  column,
  replica: 'a',
  dataDir: dir,
  walSegmentBytes: 1 << 20,
  isupdateBatch: 10,
  isupdatePublishMs: 1000,
  isupdateFetchWaitMs: 100,
  // Never contacted: the consumer starts only after the first version serves.
  kafkaBrokers: ['127.0.0.1:1'],
  kafkaClientId: 'test',
  topicChanges: topic,
  zkRoot,
});
const deps = () => ({ live: { current: () => undefined }, registry: new Registry(), log: silentLogger() });

describe('isupdate runtime', () => {
  it('keeps the WAL under <data-dir>/wal/col-<c>-<replica> by default', () => {
    expect(defaultWalDir('/data', 1, 'r0')).toBe('/data/wal/col-1-r0');
  });

  it('moves aside a WAL that belongs to another deployment, topic or column, and starts empty', async () => {
    const msg = {
      entity: 'customer' as const,
      op: 'delete' as const,
      data: { id: 'c1' },
      id: 7,
      acceptedAt: '2026-01-01T00:00:00.000Z',
    };
    const first = await openIsUpdate(config('t1'), deps());
    await first.isupdate.wal.append([{ partition: 0, offset: 0, message: msg }]);
    await first.close();

    // Same deployment, topic and column: the WAL is kept.
    const again = await openIsUpdate(config('t1'), deps());
    expect(again.isupdate.wal.lastId).toBe(7);
    await again.close();

    // Another ZooKeeper root (another deployment): moved aside, empty WAL.
    const other = await openIsUpdate(config('t1', 0, '/other'), deps());
    expect(other.isupdate.wal.lastId).toBe(0);
    await other.close();
    const entries = await readdir(join(dir, 'wal'));
    expect(entries.filter((e) => e.startsWith('col-0-a.stale-'))).toHaveLength(1);

    // Another topic: the (now empty) WAL is simply re-labelled.
    const topic2 = await openIsUpdate(config('t2', 0, '/other'), deps());
    expect(topic2.isupdate.wal.lastId).toBe(0);
    await topic2.close();
    expect(JSON.parse(await readFile(join(defaultWalDir(dir, 0, 'a'), 'identity.json'), 'utf8'))).toEqual({
      topic: 't2',
      column: 0,
      zkRoot: '/other',
    });
  });
});
