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
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { ImatchError } from '../../../core/errors.js';
import { createKafka, type Kafka } from '../../../core/kafka.js';
import type { Logger } from '../../../core/logger.js';
import { retryUntil } from '../../../core/retry.js';
import { type ChangesTopic, zkPaths } from '../../../core/zk-paths.js';
import type { ZkClient } from '../../../core/zookeeper.js';
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
  zkRoot: string;
}

export interface IsUpdateRuntimeDeps {
  live: LiveIndex;
  registry: Registry;
  log: Logger;
  /** Publishes the applied id (server.ts rewrites the ZooKeeper registration); throttled. */
  onApplied?: (appliedId: number) => void;
  /**
   * The deployment's ZooKeeper: consumption starts only once `<root>/dispatch/changes` names the
   * Kafka cluster and topic this searcher is configured with. Without it (unit tests) no check.
   */
  zk?: ZkClient;
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
  await checkIdentity(dir, { topic: config.topicChanges, column: config.column, zkRoot: config.zkRoot }, log);
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
    await retryUntil(
      async () => {
        if (deps.zk !== undefined) await verifyDeployment(deps.zk, kafka, config);
        await consumer.start();
      },
      {
        signal: stopWaiting.signal,
        initialMs: 500,
        logEvery: 20,
        onError: (err, attempt) =>
          log.warn(
            { err, attempt },
            `not consuming change messages yet: ${(err as Error).message}; retrying`,
          ),
      },
    );
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
 * Consume only from the Kafka cluster and topic that this deployment's dispatch recorded in
 * `<root>/dispatch/changes`: a replica pointed at another deployment's Kafka (same default topic
 * name, say) must not apply that deployment's changes to this index.
 */
async function verifyDeployment(zk: ZkClient, kafka: Kafka, config: IsUpdateRuntimeConfig): Promise<void> {
  const path = zkPaths(config.zkRoot).dispatchChanges;
  const node = await zk.get(path);
  if (node === null) {
    throw new ImatchError(
      'IM_ERR_NOT_READY',
      `no dispatch of this deployment has recorded its changes topic in ${path}`,
    );
  }
  const recorded = JSON.parse(node.data.toString('utf8')) as ChangesTopic;
  if (recorded.topic !== config.topicChanges) {
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `this deployment's changes go to topic ${recorded.topic}, this searcher is set to ${config.topicChanges}`,
    );
  }
  const admin = kafka.admin({ retry: { retries: 1 } });
  try {
    await admin.connect();
    const { clusterId } = await admin.describeCluster();
    if (clusterId !== recorded.clusterId) {
      throw new ImatchError(
        'IM_ERR_CONFIG',
        `Kafka at ${config.kafkaBrokers.join(',')} is cluster ${clusterId}; this deployment's changes are in cluster ${recorded.clusterId}`,
      );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

interface WalIdentity {
  topic: string;
  column: number;
  zkRoot: string;
}

/**
 * A WAL belongs to one deployment (ZooKeeper root), changes topic and column: replaying another
 * one's messages into this index would corrupt it silently. A WAL of something else is moved
 * aside (renamed `<dir>.stale-<time>`, kept for inspection) and this replica starts with an empty
 * one, catching up from Kafka.
 */
async function checkIdentity(dir: string, identity: WalIdentity, log: Logger): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'identity.json');
  let found: Partial<WalIdentity> | undefined;
  try {
    found = JSON.parse(await readFile(file, 'utf8')) as Partial<WalIdentity>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const same =
    found !== undefined &&
    found.topic === identity.topic &&
    found.column === identity.column &&
    found.zkRoot === identity.zkRoot;
  if (same) return;
  const segments = (await readdir(dir)).filter((f) => f.endsWith('.log'));
  if (segments.length > 0) {
    const aside = `${dir}.stale-${Date.now()}`;
    await rename(dir, aside);
    await mkdir(dir, { recursive: true });
    log.warn(
      { dir, movedTo: aside, was: found ?? null, now: identity },
      'the write-ahead log belongs to another deployment, topic or column; moved it aside and starting with an empty one',
    );
  }
  await writeFile(file, `${JSON.stringify(identity)}\n`);
}
