// Replay of the write-ahead log into an index (seed 003's "compensation" after the daily switch,
// and the start-up recovery after a crash): every stored message with id > the index's watermark,
// in log order, through ColumnIndex.apply, which is idempotent (a message the index already
// holds, or an older one for an entity, is ignored). Never asks dispatch or Kafka for anything.
//
// Concurrency: the caller (IsUpdate) holds its apply lock, so nothing appends meanwhile; apply is
// synchronous and the log is read in chunks, so queries on the SERVING index interleave between
// chunks (the index being replayed into does not serve yet).
import type { ChangeMessage } from '../../../core/model.js';
import { columnOf } from '../../../core/partition.js';
import type { ColumnIndex } from '../index/column-index.js';
import type { Wal } from './wal.js';

/**
 * True when this column's index needs `msg`: offer messages only in the offer's column; every
 * customer message (every column holds every customer); every bidword message (a delete carries
 * only the bidword id, and an upsert may move a bidword out of this column, so the index decides).
 */
export function relevant(msg: ChangeMessage, column: number, columns: number): boolean {
  if (msg.entity !== 'offer') return true;
  return columnOf(msg.data.id, columns) === column;
}

export interface ReplayResult {
  /** Messages past the watermark that belong to this column. */
  read: number;
  /** Of those, how many the index took (the rest it already held). */
  taken: number;
}

/** Replays the WAL past `index.watermark` into `index`; `apply` wraps ColumnIndex.apply (metrics, errors). */
export async function replayWal(
  wal: Wal,
  index: ColumnIndex,
  apply: (index: ColumnIndex, msg: ChangeMessage) => boolean,
): Promise<ReplayResult> {
  let read = 0;
  let taken = 0;
  for await (const chunk of wal.replay(index.watermark)) {
    for (const msg of chunk) {
      if (!relevant(msg, index.column, index.columns)) continue;
      read++;
      if (apply(index, msg)) taken++;
    }
    // Let queries on the serving index run between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { read, taken };
}
