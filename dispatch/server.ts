// Runs one dispatch instance: connects to ZooKeeper and Kafka, makes sure the changes topic
// exists, listens, joins the leader election and registers under
// `<root>/services/dispatch/<id>` (ephemeral, core/registrations.ts DispatchRegistration). Without
// --advertise-host a 0.0.0.0 listen host is advertised (and named in followers' 503) as the host
// name.
//
// Kafka being down at start-up does not stop dispatch from starting: it answers 503
// IM_ERR_KAFKA_UNAVAILABLE (and /readyz says why) until a write succeeds; the topic is created
// in the background as soon as the cluster answers, and recorded with the cluster's id in
// `<root>/dispatch/changes` (searchers consume only from the cluster and topic named there).
//
// Graceful stop: leave the election first (a follower takes over at once), stop accepting, let
// the writer finish the batches it holds (answered with ids or 503), then close Kafka and
// ZooKeeper. Concurrency: one event loop; the writer serializes id assignment and writes.
import type { Kafka } from 'kafkajs';
import { ImatchError } from '../core/errors.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { type DispatchRegistration, serviceRegistration } from '../core/registrations.js';
import { retryUntil } from '../core/retry.js';
import { gracefulStop, listen, register } from '../core/service-runtime.js';
import { type ChangesTopic, zkPaths } from '../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../core/zookeeper.js';
import { buildApp } from './app.js';
import type { DispatchConfig } from './config.js';
import { IdBlocks, zkIdCell } from './id-blocks.js';
import { KafkaChangeLog } from './kafka-log.js';
import { Election } from './leader.js';
import { createDispatchMetrics } from './metrics.js';
import { ChangeWriter } from './writer.js';

export interface RunningDispatch {
  url: string;
  id: string;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

export async function startDispatch(config: DispatchConfig, log: Logger): Promise<RunningDispatch> {
  const zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
  const paths = zkPaths(config.zkRoot);
  const kafka = createKafka({
    brokers: [...config.kafkaBrokers],
    clientId: `${config.kafkaClientId}-dispatch`,
    log,
  });
  const metrics = createDispatchMetrics();
  const changeLog = new KafkaChangeLog(kafka, {
    topic: config.topicChanges,
    requestTimeoutMs: config.kafkaTimeoutMs,
    logger: log.child({ component: 'kafka' }),
  });
  const topic = ensureTopicInBackground(kafka, config, log, (t) =>
    recordChangesTopic(zk, paths.dispatchChanges, t),
  );

  // The election needs this instance's URL, so listen first; until elected, every change is
  // answered 503 IM_ERR_NOT_LEADER.
  let election: Election | undefined;
  const leadership = {
    state: () => election?.state() ?? { leader: false, term: 0, leaderUrl: undefined },
  };
  const ids = new IdBlocks(zkIdCell(zk, paths.dispatchIds), {
    blockSize: config.idBlockSize,
    onReserve: (first, end) => {
      metrics.blocks.inc();
      log.info({ first, end }, 'reserved a block of message ids');
    },
  });
  const writer = new ChangeWriter({
    ids,
    log: changeLog,
    leadership,
    logger: log.child({ component: 'writer' }),
    maxWriteBatch: config.maxWriteBatch,
    maxPending: config.maxPendingChanges,
    writeTimeoutMs: config.kafkaTimeoutMs,
    hooks: {
      onWritten: (messages, _requests, ms) => {
        metrics.writeSeconds.observe(ms / 1000);
        metrics.writeMessages.observe(messages);
      },
    },
  });
  const app = buildApp(config, {
    writer,
    leadership,
    metrics,
    log,
    notReady: () => {
      const why: string[] = [];
      if (!zk.isConnected()) why.push('ZooKeeper not connected');
      if (!topic.ready) why.push(`changes topic ${config.topicChanges} not confirmed in Kafka yet`);
      return why;
    },
  });

  let registration: Registration | undefined;
  const close = gracefulStop('dispatch', log, app, config.shutdownTimeoutMs, {
    registration: () => registration,
    // Leave the election first: a follower takes over at once.
    beforeStop: [['leave the election', () => election?.stop()]],
    afterStop: [
      ['finish the batches in hand', () => writer.close()],
      ['stop creating the topic', () => topic.stop()],
      ['close the Kafka producer', () => changeLog.close()],
      ['close ZooKeeper', () => zk.close()],
    ],
  });
  try {
    const { url, id } = await listen(app, config);
    election = new Election(zk, config.zkRoot, url, log);
    election.on('change', (s: { leader: boolean }) => metrics.leader.set(s.leader ? 1 : 0));
    await election.start();
    registration = await register(
      zk,
      `${paths.serviceKind('dispatch')}/${id}`,
      serviceRegistration(url, id) satisfies DispatchRegistration,
    );
    // Connect the producer now when Kafka is there, so the first change does not pay for it.
    changeLog.connect().catch((err: unknown) => log.warn({ err }, 'Kafka producer not connected yet'));
    log.info({ url, id, leader: election.state().leader }, 'dispatch listening');
    return { url, id, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Creates the changes topic if it is missing, retrying in the background while Kafka is away. */
function ensureTopicInBackground(
  kafka: Kafka,
  config: DispatchConfig,
  log: Logger,
  record: (t: ChangesTopic) => Promise<void>,
) {
  const abort = new AbortController();
  const state = { ready: false, stop: () => abort.abort() };
  void retryUntil(
    async () => {
      const created = await ensureTopics(
        kafka,
        [{ topic: config.topicChanges, numPartitions: config.changesPartitions }],
        {
          ...(config.changesReplication === undefined
            ? {}
            : { replicationFactor: config.changesReplication }),
          timeoutMs: 10_000,
        },
      );
      if (created.length > 0) {
        log.info(
          { topic: config.topicChanges, partitions: config.changesPartitions },
          'created the changes topic',
        );
      }
      await record(await describeTopic(kafka, config.topicChanges));
      state.ready = true;
    },
    {
      signal: abort.signal,
      onError: (err) =>
        log.warn(
          { err, topic: config.topicChanges },
          'cannot confirm the changes topic in Kafka yet; retrying',
        ),
    },
  );
  return state;
}

/** The cluster id and partition count of the changes topic, for <root>/dispatch/changes. */
async function describeTopic(kafka: Kafka, topic: string): Promise<ChangesTopic> {
  const admin = kafka.admin({ retry: { retries: 1 } });
  try {
    await admin.connect();
    const { clusterId } = await admin.describeCluster();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return { topic, clusterId, partitions: meta.topics[0]?.partitions.length ?? 0 };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Tells searchers which Kafka cluster and topic carry this deployment's changes. */
async function recordChangesTopic(zk: ZkClient, path: string, t: ChangesTopic): Promise<void> {
  const data = JSON.stringify(t);
  const node = await zk.get(path);
  if (node === null) {
    await zk.mkdirp(path.slice(0, path.lastIndexOf('/')));
    try {
      await zk.create(path, data);
      return;
    } catch (err) {
      if (!(err instanceof ImatchError && err.code === 'IM_ERR_ZK_NODE_EXISTS')) throw err;
    }
  } else if (node.data.toString('utf8') === data) {
    return;
  }
  await zk.set(path, data);
}
