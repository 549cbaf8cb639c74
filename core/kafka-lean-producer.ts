// An acks=all, idempotent Kafka producer on @platformatic/kafka, for the producers whose CPU is on
// the request path: the click filter's decision log (every click waits for its records to be
// durable, on the same event loop that answers clicks) and the blender's page-view thread
// (core/kafka-producer-worker.ts, on the same two cores as the query path).
//
// Why not kafkajs (core/kafka.ts, which every other producer uses): kafkajs took 39% of the click
// filter's CPU at 5,000 clicks/s (perf, BENCHMARKS.md "Later morning of 2026-12-07"), and the
// filter ran at 81-94% of a core, where queueing alone makes the tail. In one probe process
// against the same broker, a 4-record idempotent acks=all request cost 85-146 us of CPU here
// against 162-231 us with kafkajs. One send() may also carry both topics: records whose partition
// leaders are on one broker leave in one produce request (kafkajs needed one call per topic, see
// click-filter/server.ts). 1.35.0 is the last line that runs on Node 20 (2.x needs Node 22).
//
// Failure: a send that fails after the client's own retries rejects with an ImatchError
// (IM_ERR_KAFKA_UNAVAILABLE when the brokers are unreachable or timed out, else IM_ERR_KAFKA),
// and the producer behind it is replaced: the next send starts a new producer id. The client
// advances a partition's sequence number only on success, so after a request that timed out
// but was written, reusing the old id would let the broker take the next batch of the same size
// for a duplicate and drop it. A new id can only duplicate records (the caller retries the
// batch; consumers dedupe by click id), never lose them.
//
// Concurrency: send() may be called while another send is in flight; it then waits for the sends
// before it, so one request is in flight at a time. The client reads a partition's sequence
// number when it encodes a request and advances it on success, so two overlapping requests to
// one partition would carry the same number.
import { compatibilityPartitioner, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { ImatchError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

export interface LeanMessage {
  key: string;
  value: string;
  /** Record timestamp, ms since the epoch as decimal text (kafkajs's form, kept for callers). */
  timestamp: string;
}

export interface LeanTopicMessages {
  topic: string;
  messages: readonly LeanMessage[];
}

export interface LeanProducerOptions {
  brokers: readonly string[];
  clientId: string;
  log?: Logger;
  /** One request's timeout (ms, default 30,000: as kafkajs's requestTimeout in core/kafka.ts). */
  requestTimeoutMs?: number;
  /** Connect timeout (ms, default 3,000). */
  connectTimeoutMs?: number;
  /**
   * Retries of one request inside the client (default 5, at least 2) and the delay between them
   * (default 300 ms). At least 2: with 0 or 1, 1.35.0 never settled a failed producer-id request
   * against a refused port (neither resolved nor rejected; 2 and more failed in time).
   */
  retries?: number;
  retryDelayMs?: number;
}

export class LeanProducer {
  private current: Producer<string, string, string, string> | undefined;
  private closed = false;
  /** The last send queued (settled either way): the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly o: LeanProducerOptions) {
    this.log = (o.log ?? silentLogger()).child({ component: 'kafka-lean-producer' });
  }

  /**
   * Gets a producer id and the topics' leaders now, so the first click does not wait for them;
   * rejects like send() (and the next call starts over) when Kafka cannot be reached.
   */
  async connect(topics: readonly string[]): Promise<void> {
    const producer = this.producer();
    try {
      await producer.initIdempotentProducer({});
      if (topics.length > 0) await producer.metadata({ topics: [...topics] });
    } catch (err) {
      this.discard(producer);
      throw toLeanKafkaError(err, 'Cannot connect the Kafka producer');
    }
  }

  /** Writes every message (acks=all); resolves when all are acknowledged by the in-sync replicas. */
  send(batch: readonly LeanTopicMessages[]): Promise<void> {
    if (this.closed) return Promise.reject(new ImatchError('IM_ERR_KAFKA', 'The producer is closed'));
    const run = this.tail.then(() => this.sendNow(batch));
    this.tail = run.catch(() => {});
    return run;
  }

  private async sendNow(batch: readonly LeanTopicMessages[]): Promise<void> {
    const messages = [];
    for (const tm of batch)
      for (const m of tm.messages)
        messages.push({ topic: tm.topic, key: m.key, value: m.value, timestamp: BigInt(m.timestamp) });
    if (messages.length === 0) return;
    const producer = this.producer();
    try {
      await producer.send({ messages });
    } catch (err) {
      this.discard(producer);
      const e = toLeanKafkaError(err, `Cannot send ${messages.length} message(s)`);
      this.log.warn({ err: e }, 'send failed; the next send uses a new producer id');
      throw e;
    }
  }

  /** Waits for the sends already queued to settle, then closes the connections. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const p = this.current;
    this.current = undefined;
    await p?.close();
  }

  private discard(producer: Producer<string, string, string, string>): void {
    if (this.current === producer) this.current = undefined;
    producer.close(true, () => {});
  }

  private producer(): Producer<string, string, string, string> {
    this.current ??= new Producer({
      clientId: this.o.clientId,
      bootstrapBrokers: [...this.o.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: compatibilityPartitioner,
      serializers: stringSerializers,
      timeout: this.o.requestTimeoutMs ?? 30_000,
      connectTimeout: this.o.connectTimeoutMs ?? 3000,
      retries: Math.max(2, this.o.retries ?? 5),
      retryDelay: this.o.retryDelayMs ?? 300,
    });
    return this.current;
  }
}

/** Maps a @platformatic/kafka failure to the engine's error table (retriable: Kafka unreachable). */
function toLeanKafkaError(err: unknown, what: string): ImatchError {
  if (err instanceof ImatchError) return err;
  const retriable = isRetriable(err, 0);
  const e = err as { code?: string; message?: string } | undefined;
  const detail = [e?.code, e?.message].filter(Boolean).join(': ');
  return new ImatchError(
    retriable ? 'IM_ERR_KAFKA_UNAVAILABLE' : 'IM_ERR_KAFKA',
    `${what}: ${detail || String(err)}`,
    {
      cause: err,
    },
  );
}

function isRetriable(err: unknown, depth: number): boolean {
  if (depth > 4 || err === null || typeof err !== 'object') return false;
  const e = err as { canRetry?: unknown; code?: unknown; errors?: unknown };
  if (e.canRetry === true) return true;
  if (e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT') return true;
  if (Array.isArray(e.errors)) return e.errors.some((x) => isRetriable(x, depth + 1));
  return false;
}
