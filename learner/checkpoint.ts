// The learner's checkpoint: the whole trainer state (trainer.ts) in one file, so a learner killed
// at any moment resumes from its last checkpoint and the Kafka positions inside it: the records
// after those positions are read again and every one is applied exactly once to the state they
// were not yet in. Layout (little endian):
//   "IMLRN1\0\0"   8 bytes
//   headerLength   u32, then the header: UTF-8 JSON of everything small (options, positions,
//                  watermark, counters, evaluation sums, early clicks, the state id, model version)
//   count          u32, coords u32[count], z f64[count], n f64[count]   FTRL where n > 0
//   pending        u32 count, then per impression: u16 id length, id bytes (UTF-8), f64 time,
//                  u16 coordinate count, u32[coordinate count]
//   decided        u32 count, then per entry: u16 id length, id bytes, f64 time
//   sha256         32 bytes of everything before it
// Written atomically (model-file.ts writeFileAtomic): a crash leaves the previous checkpoint.
// A damaged file is refused (CheckpointError); the learner then stops rather than start over
// silently (an operator deletes the folder to start over on purpose).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AttributionState } from './attribution.js';
import type { TrainerState } from './trainer.js';

const MAGIC = Buffer.from('IMLRN1\0\0', 'latin1');

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface Checkpoint {
  /** The learner state's own id (its consumer group's suffix); new state, new id. */
  stateId: string;
  /** Version of the newest model snapshot written from this state or before it. */
  modelVersion: number;
  createdAtMs: number;
  trainer: TrainerState;
}

type Header = Omit<TrainerState, 'coords' | 'z' | 'n' | 'attribution'> & {
  stateId: string;
  modelVersion: number;
  createdAtMs: number;
  attribution: Pick<AttributionState<Uint32Array>, 'early' | 'counts'>;
};

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const t = c.trainer;
  const header: Header = {
    stateId: c.stateId,
    modelVersion: c.modelVersion,
    createdAtMs: c.createdAtMs,
    options: t.options,
    positions: t.positions,
    watermarkMs: t.watermarkMs,
    counts: t.counts,
    examples: t.examples,
    evaluation: t.evaluation,
    attribution: { early: t.attribution.early, counts: t.attribution.counts },
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const count = t.coords.length;
  const ids = t.attribution.pending.map(([id]) => Buffer.from(id, 'utf8'));
  const decidedIds = t.attribution.decided.map(([id]) => Buffer.from(id, 'utf8'));
  let size = 8 + 4 + headerBytes.length + 4 + count * 20 + 4 + 4 + 32;
  t.attribution.pending.forEach(([, coords], i) => {
    size += 2 + ids[i]!.length + 8 + 2 + coords.length * 4;
  });
  for (const id of decidedIds) size += 2 + id.length + 8;
  const b = Buffer.alloc(size);
  MAGIC.copy(b, 0);
  let o = b.writeUInt32LE(headerBytes.length, 8);
  o += headerBytes.copy(b, o);
  o = b.writeUInt32LE(count, o);
  o += Buffer.from(t.coords.buffer, t.coords.byteOffset, count * 4).copy(b, o);
  o += Buffer.from(t.z.buffer, t.z.byteOffset, count * 8).copy(b, o);
  o += Buffer.from(t.n.buffer, t.n.byteOffset, count * 8).copy(b, o);
  o = b.writeUInt32LE(t.attribution.pending.length, o);
  t.attribution.pending.forEach(([, coords, timeMs], i) => {
    const id = ids[i]!;
    o = b.writeUInt16LE(id.length, o);
    o += id.copy(b, o);
    o = b.writeDoubleLE(timeMs, o);
    o = b.writeUInt16LE(coords.length, o);
    o += Buffer.from(coords.buffer, coords.byteOffset, coords.length * 4).copy(b, o);
  });
  o = b.writeUInt32LE(decidedIds.length, o);
  t.attribution.decided.forEach(([, timeMs], i) => {
    const id = decidedIds[i]!;
    o = b.writeUInt16LE(id.length, o);
    o += id.copy(b, o);
    o = b.writeDoubleLE(timeMs, o);
  });
  createHash('sha256').update(b.subarray(0, o)).digest().copy(b, o);
  if (o + 32 !== size) throw new Error(`checkpoint size ${o + 32} != ${size}`);
  return b;
}

export function decodeCheckpoint(buf: Buffer): Checkpoint {
  if (buf.length < 8 + 4 + 32 || !buf.subarray(0, 8).equals(MAGIC))
    throw new CheckpointError('not a learner checkpoint (bad magic or too short)');
  const body = buf.subarray(0, buf.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - 32))
  )
    throw new CheckpointError('learner checkpoint checksum does not match (damaged or truncated)');
  try {
    const headerLength = body.readUInt32LE(8);
    let o = 12;
    const header = JSON.parse(body.toString('utf8', o, o + headerLength)) as Header;
    o += headerLength;
    const count = body.readUInt32LE(o);
    o += 4;
    const coords = new Uint32Array(count);
    const z = new Float64Array(count);
    const n = new Float64Array(count);
    Buffer.from(coords.buffer).set(body.subarray(o, o + count * 4));
    o += count * 4;
    Buffer.from(z.buffer).set(body.subarray(o, o + count * 8));
    o += count * 8;
    Buffer.from(n.buffer).set(body.subarray(o, o + count * 8));
    o += count * 8;
    const pendingCount = body.readUInt32LE(o);
    o += 4;
    const pending: AttributionState<Uint32Array>['pending'] = new Array(pendingCount);
    for (let i = 0; i < pendingCount; i++) {
      const idLength = body.readUInt16LE(o);
      const id = body.toString('utf8', o + 2, o + 2 + idLength);
      o += 2 + idLength;
      const timeMs = body.readDoubleLE(o);
      const k = body.readUInt16LE(o + 8);
      o += 10;
      const c = new Uint32Array(k);
      Buffer.from(c.buffer).set(body.subarray(o, o + k * 4));
      o += k * 4;
      pending[i] = [id, c, timeMs];
    }
    const decidedCount = body.readUInt32LE(o);
    o += 4;
    const decided: AttributionState<Uint32Array>['decided'] = new Array(decidedCount);
    for (let i = 0; i < decidedCount; i++) {
      const idLength = body.readUInt16LE(o);
      const id = body.toString('utf8', o + 2, o + 2 + idLength);
      o += 2 + idLength;
      decided[i] = [id, body.readDoubleLE(o)];
      o += 8;
    }
    if (o !== body.length) throw new CheckpointError(`checkpoint has ${body.length - o} bytes after its end`);
    const { stateId, modelVersion, createdAtMs, attribution, ...rest } = header;
    return {
      stateId,
      modelVersion,
      createdAtMs,
      trainer: {
        ...rest,
        coords,
        z,
        n,
        attribution: { pending, decided, early: attribution.early, counts: attribution.counts },
      },
    };
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`learner checkpoint is malformed: ${(err as Error).message}`);
  }
}

/** The checkpoint at `path`, or undefined when there is none (a damaged one throws). */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeCheckpoint(buf);
}
