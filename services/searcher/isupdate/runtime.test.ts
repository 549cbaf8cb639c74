import { mkdtemp, rm } from 'node:fs/promises';
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

const config = (topic: string, column = 0) => ({
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
});
const deps = () => ({ live: { current: () => undefined }, registry: new Registry(), log: silentLogger() });

describe('isupdate runtime', () => {
  it('keeps the WAL under <data-dir>/wal/col-<c>-<replica> by default', () => {
    expect(defaultWalDir('/data', 1, 'r0')).toBe('/data/wal/col-1-r0');
  });

  it('refuses a WAL that belongs to another topic or column', async () => {
    const first = await openIsUpdate(config('t1'), deps());
    await first.close();
    const again = await openIsUpdate(config('t1'), deps());
    await again.close();
    await expect(openIsUpdate(config('t2'), deps())).rejects.toMatchObject({ code: 'IM_ERR_CONFIG' });
    await expect(
      openIsUpdate({ ...config('t1', 1), walDir: defaultWalDir(dir, 0, 'a') }, deps()),
    ).rejects.toThrow(/belongs to topic t1 column 0/);
  });
});
