// The Kafka side of dispatch: change messages go to the changes topic with acks=all through an
// idempotent producer (maxInFlightRequests 1, so a retried produce request can neither duplicate
// nor reorder messages).
//
// Message key (the partition choice): the offer id for offer messages and bidword upserts
// (bidword.data.offerId), the entity id otherwise (customers; bidword deletes, which carry only
// the bidword id). Every searcher replica reads EVERY partition and keeps what its column needs
// (services/searcher/isupdate), so keys only decide which changes share a partition's order. The
// default topic has ONE partition, which gives every searcher all messages in id order; with more
// partitions each offer's changes stay in order and ColumnIndex.apply's per-entity ids discard an
// older message that arrives late.
//
// Failure handling: a failed or timed-out send may leave the idempotent producer's sequence
// numbers unknown, so the producer is thrown away and a new one (new producer id) is connected
// for the next write. The writer never acknowledges a failed send.
//
// Concurrency: write() is called by the single writer loop only (one send at a time).
import '../core/kafkajs-idle-fix.js'; // kafkajs 2.2.4's idle timer loop, fixed before any client exists
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from '../core/logger.js';
import type { Change, ChangeMessage } from '../core/model.js';
import type { ChangeLog } from './writer.js';

export interface KafkaChangeLogOptions {
  topic: string;
  /** Broker-side timeout of one produce request (ms). */
  requestTimeoutMs: number;
  logger: Logger;
}

/** The partition key of a change message (see the module comment). */
export function messageKey(msg: Change): string {
  if (msg.entity === 'bidword' && msg.op === 'upsert') return msg.data.offerId;
  return msg.data.id;
}

export class KafkaChangeLog implements ChangeLog {
  #kafka: Kafka;
  #o: KafkaChangeLogOptions;
  #producer: Producer | undefined;
  #connecting: Promise<Producer> | undefined;
  #connected = false;

  constructor(kafka: Kafka, options: KafkaChangeLogOptions) {
    this.#kafka = kafka;
    this.#o = options;
  }

  /** True while a producer is connected (for /readyz). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Connects a producer now (start-up); later writes reconnect by themselves. */
  async connect(): Promise<void> {
    await this.#get();
  }

  async write(messages: readonly ChangeMessage[]): Promise<void> {
    const producer = await this.#get();
    try {
      await producer.send({
        topic: this.#o.topic,
        acks: -1,
        timeout: this.#o.requestTimeoutMs,
        messages: messages.map((m) => ({ key: messageKey(m), value: JSON.stringify(m) })),
      });
    } catch (err) {
      this.#discard(producer);
      throw err;
    }
  }

  async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    this.#connected = false;
    await p?.disconnect().catch(() => undefined);
  }

  #get(): Promise<Producer> {
    if (this.#producer !== undefined) return Promise.resolve(this.#producer);
    this.#connecting ??= (async () => {
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Bounded retries (kafkajs warns that this "may invalidate EoS guarantees": we do not rely
        // on exactly-once; a send that fails is answered 503 and the BP sends again, at-least-once): a broker that is down must turn into a 503 quickly, not a hang.
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      producer.on(producer.events.DISCONNECT, () => {
        if (this.#producer === producer) this.#connected = false;
      });
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      this.#producer = producer;
      this.#connected = true;
      return producer;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #discard(producer: Producer): void {
    if (this.#producer !== producer) return;
    this.#producer = undefined;
    this.#connected = false;
    this.#o.logger.warn(
      'discarding the Kafka producer after a failed write; the next write connects a new one',
    );
    void producer.disconnect().catch(() => undefined);
  }
}
