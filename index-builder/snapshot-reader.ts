// Streams a BP snapshot folder (DESIGN.md "BP snapshot"): snapshot.json and the three JSON-lines
// files, line by line with 1-based line numbers, without holding a file in memory.
//
// Concurrency model: async; each 1 MiB chunk is split and its lines handed to a synchronous
// callback, so signal handlers (SIGINT) run between chunks. One file is read at a time.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { ImatchError } from '../core/errors.js';
import { SnapshotMeta } from '../core/model.js';

export const SNAPSHOT_FILES = {
  meta: 'snapshot.json',
  customers: 'customers.jsonl',
  offers: 'offers.jsonl',
  bidwords: 'bidwords.jsonl',
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validateMeta = ajv.compile<SnapshotMeta>(SnapshotMeta);

/** Reads and validates snapshot.json. Throws IM_ERR_BAD_ROW naming the file and the problem. */
export async function readSnapshotMeta(dir: string): Promise<SnapshotMeta> {
  const path = join(dir, SNAPSHOT_FILES.meta);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ImatchError('IM_ERR_BAD_ROW', `Snapshot metadata not found: ${path}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ImatchError('IM_ERR_BAD_ROW', `${path}: not valid JSON`, { cause: err });
  }
  if (!validateMeta(value)) {
    const why = (validateMeta.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new ImatchError('IM_ERR_BAD_ROW', `${path}: ${why}`);
  }
  return value;
}

/** Sizes of the three row files (missing files are an error: IM_ERR_BAD_ROW). */
export async function snapshotSizes(
  dir: string,
): Promise<{ customers: number; offers: number; bidwords: number }> {
  const size = async (name: string) => {
    try {
      return (await stat(join(dir, name))).size;
    } catch (err) {
      throw new ImatchError('IM_ERR_BAD_ROW', `Snapshot file not found: ${join(dir, name)}`, { cause: err });
    }
  };
  return {
    customers: await size(SNAPSHOT_FILES.customers),
    offers: await size(SNAPSHOT_FILES.offers),
    bidwords: await size(SNAPSHOT_FILES.bidwords),
  };
}

export interface ReadLinesOptions {
  /** Called after each chunk with the bytes read so far. */
  onBytes?: (bytes: number) => void;
  /** Checked after each chunk; when aborted, reading stops with signal.reason. */
  signal?: AbortSignal;
}

/**
 * Calls `onLine(text, lineNo)` for every non-blank line of a UTF-8 file (a trailing "\r" is
 * removed). The last line may lack its newline.
 */
export async function readLines(
  path: string,
  onLine: (text: string, lineNo: number) => void,
  opts: ReadLinesOptions = {},
): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  let bytes = 0;
  const emit = (line: string) => {
    lineNo++;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() !== '') onLine(text, lineNo);
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    const text = rest + decoder.write(buf);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      emit(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    opts.onBytes?.(bytes);
    if (opts.signal?.aborted) throw opts.signal.reason;
  }
  rest += decoder.end();
  if (rest !== '') emit(rest);
  return lineNo;
}
