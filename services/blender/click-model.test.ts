import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { Ftrl } from '../../learner/ftrl.js';
import { encodeModel } from '../../learner/model-file.js';
import { ClickModel } from './click-model.js';
import { createBlenderMetrics } from './metrics.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function modelBytes(version: number): Buffer {
  const f = new Ftrl({ alpha: 0.1, beta: 1, l1: 0.1, l2: 0.1, bits: 12 });
  for (let i = 0; i < 2_000; i++) f.update([1, 100 + (i % 5)], i % 4 === 0);
  const { coords, weights } = f.nonZeroWeights();
  return encodeModel({ version, bits: 12, createdAtMs: 1, examples: f.examples, coords, weights });
}

async function publish(bytes: Buffer, version: number, sha?: string): Promise<Buffer> {
  dir ??= await mkdtemp(join(tmpdir(), 'click-model-'));
  const path = join(dir, `model-${version}.ctr`);
  await writeFile(path, bytes);
  return Buffer.from(
    JSON.stringify({ version, path, sha256: sha ?? createHash('sha256').update(bytes).digest('hex') }),
  );
}

describe('blender click model', () => {
  it('loads a published model, then a newer one', async () => {
    const metrics = createBlenderMetrics({ processMetrics: false });
    const m = new ClickModel(silentLogger(), metrics);
    expect(m.current).toBeUndefined();
    await m.onPointer(await publish(modelBytes(1), 1));
    expect(m.current?.version).toBe(1);
    await m.onPointer(await publish(modelBytes(2), 2));
    expect(m.current?.version).toBe(2);
    expect(await metrics.registry.metrics()).toMatch(/imatch_blender_model_loads_total\{result="loaded"\} 2/);
  });

  it("refuses a damaged model, a file that is not the pointer's, and a bad pointer; the last good one serves", async () => {
    const metrics = createBlenderMetrics({ processMetrics: false });
    const m = new ClickModel(silentLogger(), metrics);
    await m.onPointer(await publish(modelBytes(1), 1));
    const damaged = modelBytes(2);
    damaged[60] = damaged[60]! ^ 0xff;
    // The pointer's checksum is of the damaged bytes, so only the file's own checksum catches it.
    await m.onPointer(await publish(damaged, 2));
    await m.onPointer(await publish(modelBytes(3), 3, 'ab'.repeat(32)));
    await m.onPointer(Buffer.from('{"version": 4}'));
    await m.onPointer(await publish(Buffer.from('IMCTR1\0\0 short'), 5));
    expect(m.current?.version).toBe(1);
    expect(await metrics.registry.metrics()).toMatch(
      /imatch_blender_model_loads_total\{result="refused"\} 4/,
    );
  });

  it('ignores a deleted pointer (the loaded model stays)', async () => {
    const m = new ClickModel(silentLogger(), createBlenderMetrics({ processMetrics: false }));
    await m.onPointer(await publish(modelBytes(1), 1));
    await m.onPointer(undefined);
    expect(m.current?.version).toBe(1);
  });
});
