// isupdate as the searcher process runs it: opens the replica's write-ahead log, builds IsUpdate
// and its metrics, and starts the Kafka consumer once the first version serves. server.ts needs
// three calls: `catchUp` as the index holder's catch-up hook (replay before a version serves),
// `swapped` after every switch (prune the WAL; the first call starts consuming), `close` on
// shutdown.
//
// Start-up order (DESIGN.md): load the current version -> replay its WAL past the version's
// watermark (catchUp, before it serves) -> resume consuming at the WAL's Kafka position.
//
// Concurrency: one event loop; IsUpdate serializes ingest/replay; the consumer is started once.
// A Kafka that is down at start-up does not stop the searcher: it serves its version (plus the
// WAL) and keeps retrying the consumer in the background; readiness reports it as not caught up.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { ImatchError } from '../../../core/errors.js';
import { createKafka } from '../../../core/kafka.js';
import type { Logger } from '../../../core/logger.js';
import type { ColumnIndex } from '../index/column-index.js';
import { ChangeConsumer } from './consumer.js';
import { IsUpdate, type LiveIndex } from './isupdate.js';
import { isUpdateMetrics } from './metrics.js';
import { Wal } from './wal.js';

export interface IsUpdateRuntimeConfig {
  column: number;
  replica: string;
  dataDir: string;
  walDir?: string | undefined;
  walSegmentBytes: number;
  isupdateBatch: number;
  isupdatePublishMs: number;
  isupdateFetchWaitMs: number;
  kafkaBrokers: readonly string[];
  kafkaClientId: string;
  topicChanges: string;
}

export interface IsUpdateRuntimeDeps {
  live: LiveIndex;
  registry: Registry;
  log: Logger;
  /** Publishes the applied id (server.ts rewrites the ZooKeeper registration); throttled. */
  onApplied?: (appliedId: number) => void;
}

export interface IsUpdateRuntime {
  readonly isupdate: IsUpdate;
  /** Index-holder catch-up hook: replays the WAL past the version's watermark into it. */
  catchUp(index: ColumnIndex): Promise<void>;
  /** Call after every switch; the first call starts the consumer. */
  swapped(): Promise<void>;
  /** Consumed everything that was in Kafka when consumption started. */
  readonly caughtUp: boolean;
  close(): Promise<void>;
}

/** Where this replica's WAL lives unless --wal-dir says otherwise. */
export function defaultWalDir(dataDir: string, column: number, replica: string): string {
  return resolve(join(dataDir, 'wal', `col-${column}-${replica}`));
}

export async function openIsUpdate(
  config: IsUpdateRuntimeConfig,
  deps: IsUpdateRuntimeDeps,
): Promise<IsUpdateRuntime> {
  const log = deps.log.child({ component: 'isupdate' });
  const dir = config.walDir ?? defaultWalDir(config.dataDir, config.column, config.replica);
  await checkIdentity(dir, { topic: config.topicChanges, column: config.column });
  const wal = await Wal.open(dir, { segmentBytes: config.walSegmentBytes, logger: log });
  const st = wal.stats();
  log.info(
    { dir, segments: st.segments, records: st.records, lastId: st.lastId, truncatedBytes: st.truncatedBytes },
    'opened write-ahead log',
  );
  const metrics = isUpdateMetrics(deps.registry);
  const isupdate = new IsUpdate({
    wal,
    live: deps.live,
    batchSize: config.isupdateBatch,
    logger: log,
    metrics,
    publishIntervalMs: config.isupdatePublishMs,
    ...(deps.onApplied === undefined ? {} : { onApplied: deps.onApplied }),
  });
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: `${config.kafkaClientId}-searcher`,
    log,
  });
  let restartAfterCrash: (() => void) | undefined;
  const consumer = new ChangeConsumer({
    kafka,
    topic: config.topicChanges,
    // One group per replica AND topic: two deployments (or tests) sharing a cluster never meet in a group.
    groupId: `${config.kafkaClientId}.${config.topicChanges}.searcher.col-${config.column}.${config.replica}`,
    isupdate,
    logger: log,
    metrics,
    maxWaitMs: config.isupdateFetchWaitMs,
    onFatal: () => restartAfterCrash?.(),
  });

  let started: Promise<void> | undefined;
  let closed = false;
  const stopWaiting = new AbortController();
  const startConsumer = async (): Promise<void> => {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await consumer.start();
        return;
      } catch (err) {
        if (closed) return;
        log.warn({ err, attempt }, 'cannot consume change messages yet (Kafka unavailable?); retrying');
        await sleep(Math.min(5000, 500 * (attempt + 1)), undefined, { signal: stopWaiting.signal }).catch(
          () => undefined,
        );
      }
    }
  };

  // kafkajs restarts its consumer after most errors; when it gives up, start a new one (it seeks to
  // the WAL position again, so nothing is skipped or stored twice).
  restartAfterCrash = () => {
    if (closed) return;
    started = (async () => {
      await consumer.stop().catch(() => undefined);
      await startConsumer();
    })();
  };

  return {
    isupdate,
    catchUp: async (index) => {
      await isupdate.catchUp(index);
    },
    swapped: async () => {
      await isupdate.swapped();
      started ??= startConsumer();
    },
    get caughtUp() {
      return started !== undefined && consumer.caughtUp;
    },
    close: async () => {
      closed = true;
      stopWaiting.abort();
      await started;
      await consumer.stop().catch((err: unknown) => log.warn({ err }, 'stopping the change consumer failed'));
      await isupdate.stop();
      await wal.close();
    },
  };
}

/**
 * A WAL belongs to one changes topic and one column: replaying another deployment's messages into
 * this index would corrupt it silently, so a mismatch refuses to start (clear the folder or point
 * --wal-dir elsewhere to start afresh; the replica then catches up from Kafka).
 */
async function checkIdentity(dir: string, identity: { topic: string; column: number }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'identity.json');
  let found: { topic?: unknown; column?: unknown } | undefined;
  try {
    found = JSON.parse(await readFile(file, 'utf8')) as { topic?: unknown; column?: unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (found === undefined) {
    await writeFile(file, `${JSON.stringify(identity)}\n`);
    return;
  }
  if (found.topic !== identity.topic || found.column !== identity.column) {
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `write-ahead log ${dir} belongs to topic ${String(found.topic)} column ${String(found.column)}, not topic ${identity.topic} column ${identity.column}; use another --wal-dir (or --data-dir) or empty that folder`,
    );
  }
}
