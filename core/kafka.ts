// The Kafka adapter every service uses, over kafkajs: a client whose logs go through pino,
// explicit and idempotent topic creation, an idempotent producer with acks=all, and a consumer
// helper that commits an offset only after the handler of that message (or batch) succeeded.
//
// Concurrency model: kafkajs runs one fetch loop per consumer; by default partitions are handled
// one at a time (`partitionsConsumedConcurrently` raises that), messages of a partition strictly in
// order. A handler that throws stops its partition's batch: offsets of the messages handled before
// it are committed, the failed one is not, and kafkajs retries from it (with back-off, restarting
// the consumer after its retries). So a message is delivered at least once, and again to the next
// consumer of the group when this one stops before it succeeded. Errors carry `retriable`.
import './kafkajs-idle-fix.js'; // kafkajs 2.2.4's idle timer loop, fixed before any client exists
import {
  type Admin,
  type ITopicConfig,
  Kafka,
  type Consumer as KafkaConsumer,
  type KafkaMessage,
  type Producer as KafkaProducer,
  type logCreator,
  logLevel,
  type Message,
  Partitioners,
  type RecordMetadata,
  type RetryOptions,
} from 'kafkajs';
import { ImatchError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

export type { Kafka } from 'kafkajs';

export interface KafkaClientOptions {
  /** Bootstrap brokers, `127.0.0.1:9092` (use 127.0.0.1, not localhost). */
  brokers: readonly string[];
  clientId: string;
  /** kafkajs logs go to this logger (component "kafka"); default: silent. */
  log?: Logger;
  /** Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** Default 30000 ms. */
  requestTimeoutMs?: number;
  /** kafkajs client retry policy; default kafkajs's (5 retries, 300 ms initial back-off). */
  retry?: RetryOptions;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.log ?? silentLogger();
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ...(options.retry ? { retry: options.retry } : {}),
    logLevel: kafkaLevelFor(log.level),
    logCreator: kafkaLogCreator(log),
  });
}

/** Picks the kafkajs level that matches a pino level (kafkajs DEBUG logs every request: trace). */
export function kafkaLevelFor(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
      return logLevel.DEBUG;
    case 'debug':
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/** Routes kafkajs log entries to pino, one child logger with `component: "kafka"`. */
export function kafkaLogCreator(log: Logger): logCreator {
  const child = log.child({ component: 'kafka' });
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const obj = { ...fields, namespace };
      if (level === logLevel.ERROR) child.error(obj, message);
      else if (level === logLevel.WARN) child.warn(obj, message);
      else if (level === logLevel.INFO) child.info(obj, message);
      else child.trace(obj, message);
    };
}

/** Maps a kafkajs error to an ImatchError that says whether retrying can help. */
export function toKafkaError(err: unknown, what: string): ImatchError {
  if (err instanceof ImatchError) return err;
  const e = err as { name?: string; message?: string; retriable?: boolean; type?: string } | undefined;
  const retriable =
    e?.retriable === true ||
    e?.name === 'KafkaJSNumberOfRetriesExceeded' ||
    e?.name === 'KafkaJSConnectionError' ||
    e?.name === 'KafkaJSRequestTimeoutError' ||
    e?.name === 'KafkaJSBrokerNotFound' ||
    e?.name === 'KafkaJSNoBrokerAvailableError';
  const detail = [e?.name, e?.type, e?.message].filter(Boolean).join(': ');
  return new ImatchError(
    retriable ? 'IM_ERR_KAFKA_UNAVAILABLE' : 'IM_ERR_KAFKA',
    `${what}: ${detail || String(err)}`,
    {
      cause: err,
    },
  );
}

export interface TopicSpec {
  topic: string;
  /** Default 1. */
  numPartitions?: number;
  /** Topic configs, e.g. `{ 'retention.ms': '86400000' }`. */
  configEntries?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet and waits until their leaders are elected. Idempotent.
 * Returns the names it created. Replication factor: `options.replicationFactor`, else min(3,
 * brokers in the cluster), so a topic a service creates on a 3-broker cluster survives a broker
 * (it was always 1 before, which lost acknowledged records with the broker that held them).
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: ReadonlyArray<string | TopicSpec>,
  options: { timeoutMs?: number; replicationFactor?: number } = {},
): Promise<string[]> {
  const specs = topics.map((t) => (typeof t === 'string' ? { topic: t } : t));
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return [];
    const replicationFactor =
      options.replicationFactor ?? Math.min(3, Math.max(1, (await admin.describeCluster()).brokers.length));
    const configs: ITopicConfig[] = missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.numPartitions ?? 1,
      replicationFactor,
      configEntries: Object.entries(s.configEntries ?? {}).map(([name, value]) => ({ name, value })),
    }));
    // false when a topic already existed (another process raced us): that is fine. kafkajs's own
    // waitForLeaders gives up on the first UNKNOWN_TOPIC_OR_PARTITION, which a broker of a
    // cluster answers until the new topic reaches it: waitForTopics below retries instead.
    await admin.createTopics({
      topics: configs,
      waitForLeaders: false,
      timeout: options.timeoutMs ?? 30_000,
    });
    await waitForTopics(
      admin,
      missing.map((s) => s.topic),
      options.timeoutMs ?? 30_000,
    );
    return missing.map((s) => s.topic);
  } catch (err) {
    const e = err as { type?: string };
    if (e?.type === 'TOPIC_ALREADY_EXISTS') return [];
    throw toKafkaError(err, `Cannot create topics ${specs.map((s) => s.topic).join(', ')}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function waitForTopics(admin: Admin, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // In a cluster, a broker other than the controller may not know a new topic yet and answers
    // UNKNOWN_TOPIC_OR_PARTITION (retriable) for a moment: ask again until the deadline.
    const meta = await admin.fetchTopicMetadata({ topics: names }).catch((err: unknown) => {
      if ((err as { retriable?: boolean }).retriable === true && Date.now() < deadline) return undefined;
      throw err;
    });
    if (meta?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
      return;
    if (Date.now() > deadline)
      throw new ImatchError('IM_ERR_KAFKA_UNAVAILABLE', `Topics ${names.join(', ')} have no leader`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ImatchProducer {
  /** Sends with acks=all; resolves once every message is durable on the broker. */
  send(topic: string, messages: Message[]): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
  /** The kafkajs producer, for what this adapter does not cover. */
  readonly producer: KafkaProducer;
}

/**
 * A connected idempotent producer (acks=all, one request in flight per broker as kafkajs's
 * idempotence requires, so retries never reorder or duplicate messages).
 */
export async function createProducer(kafka: Kafka, options: { log?: Logger } = {}): Promise<ImatchProducer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
  } catch (err) {
    throw toKafkaError(err, 'Cannot connect the Kafka producer');
  }
  const log = (options.log ?? silentLogger()).child({ component: 'kafka-producer' });
  let connected = true;
  return {
    producer,
    send: async (topic, messages) => {
      try {
        return await producer.send({ topic, messages, acks: -1 });
      } catch (err) {
        const e = toKafkaError(err, `Cannot send ${messages.length} message(s) to ${topic}`);
        log.warn({ err: e, topic }, 'send failed');
        throw e;
      }
    },
    disconnect: async () => {
      if (!connected) return;
      connected = false;
      await producer.disconnect();
    },
  };
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  /** Offset as kafkajs gives it (a decimal string). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaMessage['headers'];
  /** Broker or producer timestamp, ms since the epoch (string, as kafkajs gives it). */
  timestamp: string;
}

export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a group without committed offsets starts; default true (earliest). */
  fromBeginning?: boolean;
  /**
   * Called for each message in order; its offset is committed only after it resolves. Give
   * either this or `eachBatch`.
   */
  eachMessage?: (message: ConsumedMessage) => Promise<void>;
  /**
   * Called with up to `maxBatchSize` messages of one partition in order; their offsets are
   * committed only after it resolves.
   */
  eachBatch?: (messages: ConsumedMessage[]) => Promise<void>;
  /** Largest slice handed to `eachBatch` (and committed at once); default 500. */
  maxBatchSize?: number;
  /** Partitions handled at the same time; default 1. */
  partitionsConsumedConcurrently?: number;
  /** Default 10000 ms (kafkajs's 30000 makes a restarted member wait long for a rebalance). */
  sessionTimeoutMs?: number;
  /** Default 3000 ms. */
  heartbeatIntervalMs?: number;
  /**
   * Longest a fetch waits for new data (ms); default 1000. Data is returned as soon as it arrives;
   * this bounds how long a disconnect waits for the fetch in flight (kafkajs's default is 5000).
   */
  maxWaitTimeMs?: number;
  /** kafkajs consumer retry policy for failing handlers and fetches. */
  retry?: RetryOptions;
  log?: Logger;
}

export interface ImatchConsumer {
  /** Stops fetching, waits for the handler in flight, leaves the group, disconnects. */
  disconnect(): Promise<void>;
  /** The kafkajs consumer (events such as `consumer.events.CRASH`, lag, pause/resume). */
  readonly consumer: KafkaConsumer;
}

/**
 * Joins the group, subscribes and starts consuming; resolves once the consumer runs. Offsets are
 * committed by this helper only (autoCommit is off), after the handler succeeded.
 */
export async function startConsumer(kafka: Kafka, options: ConsumerOptions): Promise<ImatchConsumer> {
  const { eachMessage, eachBatch } = options;
  if ((eachMessage === undefined) === (eachBatch === undefined)) {
    throw new ImatchError('IM_ERR_CONFIG', 'startConsumer needs exactly one of eachMessage or eachBatch');
  }
  const log = (options.log ?? silentLogger()).child({
    component: 'kafka-consumer',
    groupId: options.groupId,
  });
  const maxBatch = Math.max(1, options.maxBatchSize ?? 500);
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1000,
    allowAutoTopicCreation: false,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  let connected = false;
  try {
    await consumer.connect();
    connected = true;
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        isRunning,
        isStale,
      }) => {
        const { topic, partition } = batch;
        const commit = (offset: string) =>
          commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition, offset: (BigInt(offset) + 1n).toString() }] }],
          });
        const messages = batch.messages.map((m) => toConsumed(topic, partition, m));
        let done: string | null = null; // last offset whose handler succeeded, not yet committed
        try {
          for (let i = 0; i < messages.length; i += maxBatch) {
            if (!isRunning() || isStale()) break;
            const slice = messages.slice(i, i + maxBatch);
            if (eachBatch) {
              await eachBatch(slice);
              done = slice.at(-1)!.offset;
              resolveOffset(done);
              await commit(done);
              done = null;
            } else {
              for (const m of slice) {
                if (!isRunning() || isStale()) break;
                await eachMessage!(m);
                resolveOffset(m.offset);
                done = m.offset;
              }
              if (done !== null) {
                await commit(done);
                done = null;
              }
            }
            await heartbeat();
          }
        } catch (err) {
          // Keep what succeeded before the failure, then let kafkajs retry from the failed message.
          if (done !== null) await commit(done).catch(() => undefined);
          log.warn(
            { err, topic, partition },
            'handler failed; its message is not committed and will come again',
          );
          throw err;
        }
      },
    });
  } catch (err) {
    if (connected) await consumer.disconnect().catch(() => undefined);
    throw toKafkaError(err, `Cannot start consumer group ${options.groupId}`);
  }
  let open = true;
  return {
    consumer,
    disconnect: async () => {
      if (!open) return;
      open = false;
      await consumer.disconnect();
    },
  };
}

function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: m.headers,
    timestamp: m.timestamp,
  };
}
