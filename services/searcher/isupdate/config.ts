// The settings of a searcher's isupdate (incremental updates), spread into SearcherConfig together
// with core/config.ts KafkaSettings. Pure schema; no I/O.
import { Type } from '@sinclair/typebox';

export const IsUpdateSettings = {
  isupdate: Type.Boolean({
    default: true,
    description: 'Consume change messages from Kafka into the live index (isupdate)',
  }),
  isupdateBatch: Type.Integer({
    default: 100,
    minimum: 1,
    maximum: 10_000,
    description: 'Change messages per write-ahead-log append and fsync (1 = message by message)',
  }),
  walDir: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "Folder of this replica's write-ahead log (default: <data-dir>/wal/col-<column>-<replica>)",
    }),
  ),
  walSegmentBytes: Type.Integer({
    default: 64 * 1024 * 1024,
    minimum: 4096,
    description: 'Size at which the write-ahead log starts a new segment (bytes)',
  }),
  isupdatePublishMs: Type.Integer({
    default: 1000,
    minimum: 10,
    description: 'Shortest interval between appliedId updates of the ZooKeeper registration (ms)',
  }),
  isupdateFetchWaitMs: Type.Integer({
    default: 100,
    minimum: 1,
    maximum: 10_000,
    description: 'Longest wait of one Kafka fetch when no change is waiting (ms)',
  }),
  debugEndpoints: Type.Boolean({
    default: false,
    description: 'Serve GET /debug/dump (the whole column index as JSON; for tests and audits)',
  }),
};
