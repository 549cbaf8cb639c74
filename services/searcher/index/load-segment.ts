// Loads one column's segment (docs/index-format.md) into a ColumnIndex. The file is read once:
// each chunk goes to the SHA-256 and to the line parser, and the index is handed out only after
// the size, checksum, header and footer all check out, so a corrupt or truncated segment never
// yields an index.
//
// Concurrency model: async; the file is read in 1 MiB chunks, and the parsing (and the final
// sorting) gives the event loop a turn every `yieldEveryMs` (5 ms) of work, so a searcher serving
// an old version keeps answering, with little added delay, while it loads the new one beside it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ImatchError } from '../../../core/errors.js';
import {
  type FooterLine,
  type HeaderLine,
  readManifest,
  SEGMENT_FORMAT,
  SEGMENT_FORMAT_VERSION,
  type SegmentLine,
  segmentEntry,
} from '../../../core/index-manifest.js';
import { ColumnIndexImpl } from './column.js';
import { IndexState } from './index-state.js';
import type { ColumnIndex, LoadOptions } from './types.js';

/**
 * Loads column `column` of the index version in `versionDir` (the folder holding manifest.json).
 * Verifies the segment's size and SHA-256 (unless opts.verify === false) while parsing.
 * Throws ImatchError IM_ERR_INDEX_MISSING (no such folder, manifest, column or segment file) or
 * IM_ERR_INDEX_CORRUPT (bad manifest, checksum or size mismatch, unparsable or truncated segment).
 */
export async function loadColumnIndex(
  versionDir: string,
  column: number,
  opts: LoadOptions = {},
): Promise<ColumnIndex> {
  const started = performance.now();
  const manifest = await readManifest(versionDir);
  const entry = segmentEntry(manifest, column);
  const path = join(versionDir, entry.file);
  const verify = opts.verify !== false;
  const corrupt = (why: string, cause?: unknown) =>
    new ImatchError('IM_ERR_INDEX_CORRUPT', `Index segment ${path} is corrupt: ${why}`, { cause });

  const state = new IndexState(column, manifest.columns);
  // Give the event loop a turn every few ms of work, so a searcher serving the old version while
  // it loads the new one answers queries with at most that much added delay.
  const budget = opts.yieldEveryMs ?? 5;
  let yieldAt = performance.now() + budget;
  const pause = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    yieldAt = performance.now() + budget;
  };
  const hash = verify ? createHash('sha256') : undefined;
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  let lineNo = 0;
  let rest = '';
  let header: HeaderLine | undefined;
  let footer: FooterLine | undefined;
  let offers = 0;
  let pendingLines = 0;

  const onLine = (text: string) => {
    lineNo++;
    if (footer !== undefined) throw corrupt(`line ${lineNo} follows the footer`);
    let line: SegmentLine;
    try {
      line = JSON.parse(text) as SegmentLine;
    } catch (err) {
      throw corrupt(`line ${lineNo} is not valid JSON`, err);
    }
    if (header === undefined) {
      if (line.t !== 'h' || line.format !== SEGMENT_FORMAT)
        throw corrupt('the first line is not a segment header');
      if (line.formatVersion !== SEGMENT_FORMAT_VERSION)
        throw corrupt(`format version ${line.formatVersion}, this searcher reads ${SEGMENT_FORMAT_VERSION}`);
      if (line.version !== manifest.version || line.column !== column || line.columns !== manifest.columns) {
        throw corrupt(
          `header says version ${line.version} column ${line.column}/${line.columns}, ` +
            `the manifest says version ${manifest.version} column ${column}/${manifest.columns}`,
        );
      }
      header = line;
      return;
    }
    switch (line.t) {
      case 'c':
        state.putCustomer(line.d);
        return;
      case 'o': {
        const row = line.d;
        const offerId = row.id;
        // Shared by many offers: kept once (IndexState.intern).
        row.category = state.intern(row.category);
        row.customerId = state.intern(row.customerId);
        const rec = state.putOffer(row, line.n);
        offers++;
        for (const b of line.b) state.insertBidword(b[0], offerId, b[1], b[2], b[3], b[4] ?? b[1], rec);
        return;
      }
      case 'p': {
        const b = line.b;
        state.insertBidword(b[0], line.o, b[1], b[2], b[3], b[4] ?? b[1]);
        pendingLines++;
        return;
      }
      case 'e':
        footer = line;
        return;
      default:
        throw corrupt(`line ${lineNo} has unknown type ${JSON.stringify((line as { t?: unknown }).t)}`);
    }
  };

  let stream: AsyncIterable<Buffer>;
  try {
    stream = createReadStream(path, { highWaterMark: 1 << 20 });
    for await (const chunk of stream) {
      bytes += chunk.length;
      hash?.update(chunk);
      const text = rest + decoder.write(chunk);
      let start = 0;
      for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
        onLine(text.slice(start, nl));
        start = nl + 1;
        if (performance.now() >= yieldAt) await pause();
      }
      rest = text.slice(start);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ImatchError('IM_ERR_INDEX_MISSING', `Index segment not found: ${path}`, { cause: err });
    }
    throw err;
  }
  rest += decoder.end();
  if (rest !== '') throw corrupt(`it ends in the middle of line ${lineNo + 1} (truncated)`);
  if (verify) {
    if (bytes !== entry.bytes) {
      throw corrupt(`${bytes} bytes, the manifest says ${entry.bytes} (truncated or replaced)`);
    }
    const actual = hash!.digest('hex');
    if (actual !== entry.sha256) throw corrupt(`SHA-256 ${actual}, the manifest says ${entry.sha256}`);
  }
  if (header === undefined) throw corrupt('it is empty');
  if (footer === undefined) throw corrupt('it has no footer (truncated)');
  if (
    footer.offers !== offers ||
    footer.customers !== state.customers.size ||
    footer.pendingBidwords !== pendingLines
  ) {
    throw corrupt(
      `the footer counts ${footer.customers} customers / ${footer.offers} offers / ${footer.pendingBidwords} pending, ` +
        `the file holds ${state.customers.size} / ${offers} / ${pendingLines}`,
    );
  }
  for (const _ of state.finishBulkSteps()) if (performance.now() >= yieldAt) await pause();
  const index = new ColumnIndexImpl(state, manifest.version, manifest.watermark);
  opts.logger?.info(
    { version: manifest.version, column, ms: Math.round(performance.now() - started), ...index.stats() },
    'column index loaded',
  );
  return index;
}
