// The searcher's local write-ahead log of change messages (seed 003: isupdate "first stores each
// message on local disk, then updates the index"; after the daily full switch it compensates from
// this store instead of asking dispatch again).
//
// Layout: one folder per searcher replica holding segments `wal-<seq 12 digits>.log`. A segment
// is UTF-8 lines `<crc32 8 hex> <json>\n`; the json is either a header
// `{"k":"h","pos":{"<partition>":<next offset>}}` (first line of every segment: the Kafka
// positions reached when the segment was opened, so pruning older segments never loses them) or
// a message `{"k":"m","p":<partition>,"o":<offset>,"m":ChangeMessage}`.
//
// Durability: append() writes a whole micro-batch with one write and one fdatasync, and resolves
// only after both, so the caller applies (and commits Kafka offsets) only what is on disk. A crash
// mid-write leaves a torn tail in the last segment: open() verifies every line's CRC and truncates
// the last segment at the first bad line (those messages were never applied nor committed; Kafka
// delivers them again). A bad line in an older segment means damaged storage and fails open().
//
// Concurrency: one Wal per replica, owned by isupdate, which never runs two append/replay/prune
// calls at once (its apply lock). Reads in replay() use their own file handles.

import { type FileHandle, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ImatchError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { ChangeMessage } from '../../../core/model.js';

/** One message as stored: the Kafka partition and offset it came from, and the message. */
export interface WalRecord {
  partition: number;
  offset: number;
  message: ChangeMessage;
}

export interface WalOptions {
  /** Start a new segment once the current one reaches this size (bytes); default 64 MiB. */
  segmentBytes?: number;
  /** fdatasync after every append (default true; false only for benchmarks of the cost). */
  sync?: boolean;
  logger?: Logger;
}

interface SegmentInfo {
  seq: number;
  file: string;
  bytes: number;
  records: number;
  /** Smallest and largest message id in the segment (0/0 when it holds none). */
  minId: number;
  maxId: number;
}

export interface WalStats {
  segments: number;
  bytes: number;
  records: number;
  /** Highest message id stored (0 when empty). */
  lastId: number;
  /** Torn-tail bytes cut off when the log was opened. */
  truncatedBytes: number;
}

const SEGMENT_RE = /^wal-(\d{12})\.log$/;
const segName = (seq: number) => `wal-${String(seq).padStart(12, '0')}.log`;

export class Wal {
  readonly dir: string;
  #opts: Required<Omit<WalOptions, 'logger'>> & { logger: Logger | undefined };
  #segments: SegmentInfo[] = [];
  #fh: FileHandle | undefined;
  /** Next Kafka offset per partition covered by what is stored. */
  #positions = new Map<number, number>();
  #lastId = 0;
  #truncated = 0;
  #closed = false;

  private constructor(dir: string, opts: WalOptions) {
    this.dir = dir;
    this.#opts = {
      segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
      sync: opts.sync ?? true,
      logger: opts.logger,
    };
  }

  /** Opens (creating if needed) the log in `dir`, verifying every segment and cutting a torn tail. */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    const wal = new Wal(dir, opts);
    await mkdir(dir, { recursive: true });
    await wal.#scan();
    return wal;
  }

  /** Next Kafka offset per partition that is already stored (resume point). */
  positions(): ReadonlyMap<number, number> {
    return this.#positions;
  }

  /** Highest message id stored (0 when none). */
  get lastId(): number {
    return this.#lastId;
  }

  stats(): WalStats {
    let bytes = 0;
    let records = 0;
    for (const s of this.#segments) {
      bytes += s.bytes;
      records += s.records;
    }
    return {
      segments: this.#segments.length,
      bytes,
      records,
      lastId: this.#lastId,
      truncatedBytes: this.#truncated,
    };
  }

  /**
   * Appends the records with one write and one fdatasync. Resolves once they are durable.
   * `through` (optional) advances partition positions past offsets that were consumed but not
   * stored (messages of other columns); they are persisted with the next header.
   */
  async append(records: readonly WalRecord[], through?: ReadonlyMap<number, number>): Promise<void> {
    if (this.#closed) throw new ImatchError('IM_ERR_INTERNAL', 'write-ahead log is closed');
    if (through !== undefined) for (const [p, next] of through) this.#advance(p, next);
    if (records.length === 0) return;
    let active = this.#segments.at(-1);
    if (this.#fh === undefined || active === undefined || active.bytes >= this.#opts.segmentBytes) {
      await this.#roll();
      active = this.#segments.at(-1)!;
    }
    const lines: string[] = [];
    for (const r of records) {
      lines.push(line({ k: 'm', p: r.partition, o: r.offset, m: r.message }));
    }
    const buf = Buffer.from(lines.join(''), 'utf8');
    await writeAll(this.#fh!, buf, active.bytes);
    if (this.#opts.sync) await this.#fh!.datasync();
    active.bytes += buf.length;
    active.records += records.length;
    for (const r of records) {
      const id = r.message.id;
      if (active.minId === 0 || id < active.minId) active.minId = id;
      if (id > active.maxId) active.maxId = id;
      if (id > this.#lastId) this.#lastId = id;
      this.#advance(r.partition, r.offset + 1);
    }
  }

  /**
   * Every stored message with id > afterId, in log order, in chunks of at most `chunk`.
   * Segments whose largest id is <= afterId are not read.
   */
  async *replay(afterId: number, chunk = 1000): AsyncGenerator<ChangeMessage[]> {
    let out: ChangeMessage[] = [];
    for (const seg of [...this.#segments]) {
      if (seg.records === 0 || seg.maxId <= afterId) continue;
      const buf = await readFile(join(this.dir, seg.file));
      const end = Math.min(seg.bytes, buf.length);
      let at = 0;
      while (at < end) {
        const nl = buf.indexOf(0x0a, at);
        if (nl < 0 || nl >= end) break;
        const rec = parseLine(buf.toString('utf8', at, nl));
        at = nl + 1;
        if (rec === undefined) {
          throw new ImatchError(
            'IM_ERR_INDEX_CORRUPT',
            `write-ahead log segment ${seg.file} changed under replay`,
          );
        }
        if (rec.k !== 'm' || rec.m.id <= afterId) continue;
        out.push(rec.m);
        if (out.length >= chunk) {
          yield out;
          out = [];
        }
      }
    }
    if (out.length > 0) yield out;
  }

  /**
   * Deletes every segment except the newest whose messages all have ids <= watermark (the
   * current index version already contains them). Returns how many were deleted.
   */
  async prune(watermark: number): Promise<number> {
    const keep: SegmentInfo[] = [];
    const drop: SegmentInfo[] = [];
    this.#segments.forEach((s, i) => {
      const newest = i === this.#segments.length - 1;
      if (!newest && s.maxId <= watermark) drop.push(s);
      else keep.push(s);
    });
    for (const s of drop) await rm(join(this.dir, s.file), { force: true });
    this.#segments = keep;
    if (drop.length > 0) {
      this.#opts.logger?.info({ deleted: drop.map((s) => s.file), watermark }, 'pruned WAL segments');
    }
    return drop.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#fh?.close();
    this.#fh = undefined;
  }

  #advance(partition: number, next: number): void {
    if ((this.#positions.get(partition) ?? -1) < next) this.#positions.set(partition, next);
  }

  async #roll(): Promise<void> {
    await this.#fh?.close();
    const seq = (this.#segments.at(-1)?.seq ?? 0) + 1;
    const file = segName(seq);
    const fh = await open(join(this.dir, file), 'wx');
    const header = Buffer.from(line({ k: 'h', pos: Object.fromEntries(this.#positions) }), 'utf8');
    await writeAll(fh, header, 0);
    await fh.datasync();
    await syncDir(this.dir);
    this.#fh = fh;
    this.#segments.push({ seq, file, bytes: header.length, records: 0, minId: 0, maxId: 0 });
  }

  async #scan(): Promise<void> {
    const files = (await readdir(this.dir))
      .map((f) => ({ f, m: SEGMENT_RE.exec(f) }))
      .filter((x) => x.m !== null)
      .map((x) => ({ file: x.f, seq: Number(x.m![1]) }))
      .sort((a, b) => a.seq - b.seq);
    for (let i = 0; i < files.length; i++) {
      const { file, seq } = files[i]!;
      const last = i === files.length - 1;
      const path = join(this.dir, file);
      const buf = await readFile(path);
      const info: SegmentInfo = { seq, file, bytes: 0, records: 0, minId: 0, maxId: 0 };
      let at = 0;
      let bad = false;
      while (at < buf.length) {
        const nl = buf.indexOf(0x0a, at);
        const rec = nl < 0 ? undefined : parseLine(buf.toString('utf8', at, nl));
        if (rec === undefined) {
          bad = true;
          break;
        }
        if (rec.k === 'h') {
          for (const [p, next] of Object.entries(rec.pos)) this.#advance(Number(p), next);
        } else {
          info.records++;
          const id = rec.m.id;
          if (info.minId === 0 || id < info.minId) info.minId = id;
          if (id > info.maxId) info.maxId = id;
          if (id > this.#lastId) this.#lastId = id;
          this.#advance(rec.p, rec.o + 1);
        }
        at = nl + 1;
      }
      info.bytes = at;
      if (bad) {
        if (!last) {
          throw new ImatchError(
            'IM_ERR_INDEX_CORRUPT',
            `write-ahead log segment ${path} is damaged at byte ${at} (not the newest segment, so not a torn write)`,
          );
        }
        this.#truncated = buf.length - at;
        this.#opts.logger?.warn({ file: path, at, cut: this.#truncated }, 'cutting torn tail of WAL segment');
        const fh = await open(path, 'r+');
        await fh.truncate(at);
        await fh.datasync();
        await fh.close();
      }
      this.#segments.push(info);
    }
    const active = this.#segments.at(-1);
    if (active !== undefined && active.bytes > 0) this.#fh = await open(join(this.dir, active.file), 'r+');
    else if (active !== undefined) {
      // An empty newest segment (crash right after creating it): drop it; the next append rolls.
      await rm(join(this.dir, active.file), { force: true });
      this.#segments.pop();
    }
  }
}

type Parsed = { k: 'h'; pos: Record<string, number> } | { k: 'm'; p: number; o: number; m: ChangeMessage };

function line(value: unknown): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

function parseLine(raw: string): Parsed | undefined {
  if (raw.length < 10 || raw[8] !== ' ') return undefined;
  const json = raw.slice(9);
  if (Number.parseInt(raw.slice(0, 8), 16) !== crc32(json)) return undefined;
  try {
    const v = JSON.parse(json) as Parsed;
    if (v.k === 'h' || v.k === 'm') return v;
  } catch {
    // CRC matched but JSON did not parse: treat as damaged.
  }
  return undefined;
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Bytes a folder's segments take (for metrics and tests). */
export async function walBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) if (SEGMENT_RE.test(f)) total += (await stat(join(dir, f))).size;
  return total;
}
