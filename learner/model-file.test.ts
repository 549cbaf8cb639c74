import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ftrl } from './ftrl.js';
import {
  CtrModel,
  decodeModel,
  encodeModel,
  ModelFileError,
  readModelFile,
  writeFileAtomic,
} from './model-file.js';

function trained(): Ftrl {
  const m = new Ftrl({ alpha: 0.1, beta: 1, l1: 0.1, l2: 0.1, bits: 12 });
  for (let i = 0; i < 5_000; i++) {
    m.update([1, 100 + (i % 7)], i % 5 === 0);
    m.update([1, 200 + (i % 3)], i % 50 === 0);
  }
  return m;
}

function fileOf(m: Ftrl, version = 7): Buffer {
  const { coords, weights } = m.nonZeroWeights();
  return encodeModel({
    version,
    bits: m.params.bits,
    createdAtMs: 1_700_000_000_000,
    examples: m.examples,
    coords,
    weights,
  });
}

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('model file', () => {
  it('round-trips: the loaded model predicts what the learner predicts (to float32 precision)', () => {
    const m = trained();
    const back = decodeModel(fileOf(m));
    expect(back).toMatchObject({ version: 7, bits: 12, examples: 10_000, featuresVersion: 1 });
    expect(back.coords.length).toBeGreaterThan(0);
    expect(back.coords.length).toBeLessThan(20); // only non-zero weights
    const model = new CtrModel(back);
    for (const ex of [
      [1, 100],
      [1, 203],
      [1, 999],
    ]) {
      expect(model.predict(ex)).toBeCloseTo(m.predict(ex), 5);
    }
    expect(model.knows([999, 998])).toBe(false);
    expect(model.knows([100])).toBe(true);
  });

  it('refuses every damaged byte, a truncation, a non-finite weight and disorder, saying why', () => {
    const good = fileOf(trained());
    for (let i = 0; i < good.length; i += 7) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      expect(() => decodeModel(bad), `byte ${i}`).toThrow(ModelFileError);
    }
    expect(() => decodeModel(good.subarray(0, good.length - 9))).toThrow(/checksum|short/);
    const nan = encodeModel({
      version: 1,
      bits: 4,
      createdAtMs: 0,
      examples: 0,
      coords: Uint32Array.of(1, 2),
      weights: Float32Array.of(0.5, Number.NaN),
    });
    expect(() => decodeModel(nan)).toThrow(expect.objectContaining({ problem: 'value' }));
    const disorder = encodeModel({
      version: 1,
      bits: 4,
      createdAtMs: 0,
      examples: 0,
      coords: Uint32Array.of(3, 2),
      weights: Float32Array.of(0.5, 0.25),
    });
    expect(() => decodeModel(disorder)).toThrow(expect.objectContaining({ problem: 'order' }));
    const outside = encodeModel({
      version: 1,
      bits: 4,
      createdAtMs: 0,
      examples: 0,
      coords: Uint32Array.of(16),
      weights: Float32Array.of(0.5),
    });
    expect(() => decodeModel(outside)).toThrow(expect.objectContaining({ problem: 'order' }));
  });

  it('writes atomically: the file is whole or absent, and no temp file is left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'imatch-model-'));
    const path = join(dir, 'model-7.bin');
    const data = fileOf(trained());
    await writeFileAtomic(path, data);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(await readdir(dir)).toEqual(['model-7.bin']);
    expect((await readModelFile(path)).version).toBe(7);
    await writeFile(path, data.subarray(0, 100));
    await expect(readModelFile(path)).rejects.toThrow(ModelFileError);
  });
});
