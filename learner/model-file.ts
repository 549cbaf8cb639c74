// The click-through model as a file: only the non-zero weights of an FTRL model (ftrl.ts), with
// what a reader needs to trust it. Layout (little endian):
//   "IMCTR1\0\0"        8 bytes   magic and format version
//   featuresVersion     u16       features.ts FEATURES_VERSION the weights were learned with
//   bits                u8        the coordinate space is 2^bits
//   reserved            u8        0
//   version             u32       the model's sequence number (increases with every snapshot)
//   createdAtMs         f64
//   examples            f64       examples learned from
//   count               u32       non-zero weights
//   coords              u32[count]  strictly increasing, each < 2^bits
//   weights             f32[count]  finite, non-zero
//   sha256              32 bytes  of everything before it
// A reader refuses a file whose checksum, size, magic, versions, order or values are wrong
// (ModelFileError says which), so a damaged or half-written model never ranks anything. Writes are
// atomic: a temporary file in the same folder, fsync, rename, fsync of the folder.
//
// CtrModel is the loaded form for scoring: a dense Float32Array over the coordinate space
// (2^22 coordinates = 16 MB), filled from the file in one pass (1M weights load in milliseconds)
// and read in O(1) per feature.
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FEATURES_VERSION } from './features.js';
import { sigmoid } from './ftrl.js';

const MAGIC = Buffer.from('IMCTR1\0\0', 'latin1');
const HEADER_BYTES = 8 + 2 + 1 + 1 + 4 + 8 + 8 + 4;
const SHA_BYTES = 32;

export type ModelFileProblem =
  | 'too-short'
  | 'magic'
  | 'checksum'
  | 'features-version'
  | 'bits'
  | 'size'
  | 'order'
  | 'value';

export class ModelFileError extends Error {
  constructor(
    readonly problem: ModelFileProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export interface ModelContents {
  version: number;
  bits: number;
  featuresVersion: number;
  createdAtMs: number;
  examples: number;
  coords: Uint32Array;
  weights: Float32Array;
}

export function encodeModel(
  m: Omit<ModelContents, 'featuresVersion'> & { featuresVersion?: number },
): Buffer {
  const count = m.coords.length;
  if (m.weights.length !== count) throw new RangeError('coords and weights differ in length');
  const body = Buffer.alloc(HEADER_BYTES + count * 8);
  MAGIC.copy(body, 0);
  let o = 8;
  o = body.writeUInt16LE(m.featuresVersion ?? FEATURES_VERSION, o);
  o = body.writeUInt8(m.bits, o);
  o = body.writeUInt8(0, o);
  o = body.writeUInt32LE(m.version, o);
  o = body.writeDoubleLE(m.createdAtMs, o);
  o = body.writeDoubleLE(m.examples, o);
  o = body.writeUInt32LE(count, o);
  Buffer.from(m.coords.buffer, m.coords.byteOffset, count * 4).copy(body, o);
  o += count * 4;
  Buffer.from(m.weights.buffer, m.weights.byteOffset, count * 4).copy(body, o);
  const sha = createHash('sha256').update(body).digest();
  return Buffer.concat([body, sha]);
}

export function decodeModel(buf: Buffer): ModelContents {
  if (buf.length < HEADER_BYTES + SHA_BYTES)
    throw new ModelFileError('too-short', `model file of ${buf.length} bytes is shorter than a header`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new ModelFileError('magic', 'not an iMatch CTR model file');
  const body = buf.subarray(0, buf.length - SHA_BYTES);
  const sha = createHash('sha256').update(body).digest();
  if (!sha.equals(buf.subarray(buf.length - SHA_BYTES)))
    throw new ModelFileError('checksum', 'model file checksum does not match (damaged or truncated)');
  let o = 8;
  const featuresVersion = buf.readUInt16LE(o);
  o += 2;
  const bits = buf.readUInt8(o);
  o += 2;
  const version = buf.readUInt32LE(o);
  o += 4;
  const createdAtMs = buf.readDoubleLE(o);
  o += 8;
  const examples = buf.readDoubleLE(o);
  o += 8;
  const count = buf.readUInt32LE(o);
  o += 4;
  if (featuresVersion !== FEATURES_VERSION)
    throw new ModelFileError(
      'features-version',
      `model learned with features version ${featuresVersion}, this process uses ${FEATURES_VERSION}`,
    );
  if (bits < 1 || bits > 28) throw new ModelFileError('bits', `model space of 2^${bits} is out of range`);
  if (body.length !== HEADER_BYTES + count * 8)
    throw new ModelFileError(
      'size',
      `model says ${count} weights but holds ${(body.length - HEADER_BYTES) / 8}`,
    );
  // Copies: aligned typed arrays whatever the buffer's offset.
  const coords = new Uint32Array(count);
  const weights = new Float32Array(count);
  Buffer.from(coords.buffer).set(body.subarray(o, o + count * 4));
  Buffer.from(weights.buffer).set(body.subarray(o + count * 4, o + count * 8));
  const size = 2 ** bits;
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const c = coords[i]!;
    if (c <= prev || c >= size)
      throw new ModelFileError('order', `coordinate ${c} at ${i} is out of order or outside 2^${bits}`);
    prev = c;
    const w = weights[i]!;
    if (!Number.isFinite(w) || w === 0)
      throw new ModelFileError('value', `weight ${w} at coordinate ${c} is not a finite non-zero number`);
  }
  return { version, bits, featuresVersion, createdAtMs, examples, coords, weights };
}

/** Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function readModelFile(path: string): Promise<ModelContents> {
  return decodeModel(await readFile(path));
}

/** A loaded model: logit and click probability of a set of coordinates. */
export class CtrModel {
  private readonly dense: Float32Array;

  constructor(readonly contents: ModelContents) {
    this.dense = new Float32Array(2 ** contents.bits);
    const { coords, weights } = contents;
    for (let i = 0; i < coords.length; i++) this.dense[coords[i]!] = weights[i]!;
  }

  get version(): number {
    return this.contents.version;
  }

  get bits(): number {
    return this.contents.bits;
  }

  logit(coords: ArrayLike<number>): number {
    let s = 0;
    for (let i = 0; i < coords.length; i++) s += this.dense[coords[i]!]!;
    return s;
  }

  /** Whether any of these coordinates has a weight (the model has seen something of the ad). */
  knows(coords: ArrayLike<number>): boolean {
    for (let i = 0; i < coords.length; i++) if (this.dense[coords[i]!] !== 0) return true;
    return false;
  }

  predict(coords: ArrayLike<number>): number {
    return sigmoid(this.logit(coords));
  }
}
