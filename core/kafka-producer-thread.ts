// An acks=all Kafka producer that runs on its own worker thread (core/kafka-producer-worker.ts), for
// producers that sit beside a latency-sensitive event loop: the blender's page-view log.
//
// Why: a Kafka client in Node encodes a produce request in JavaScript, synchronously, when the
// request is sent. With kafkajs (records, varints, CRC-32C all in JavaScript), for the blender's 100 ms batches of page views that was a block of
// several milliseconds on the event loop every 100 ms, which every ad request arriving meanwhile
// waited out: in the blender alone at 1,000 requests/s, p99 19-21 ms with the page-view log and
// 4-8 ms without it (BENCHMARKS.md, "Evening of 2026-12-06"). Here the main thread only hands each
// batch over (one structured clone of its strings) and awaits the worker's answer; durability is
// unchanged: send() resolves only when the broker acknowledged every record (acks=all).
//
// Errors: a failed send rejects with an ImatchError carrying the worker's code and retriable flag
// (core/kafka-lean-producer.ts: IM_ERR_KAFKA_UNAVAILABLE, retriable, when Kafka is unreachable);
// a worker that dies rejects every send in flight and every later one
// (IM_ERR_KAFKA_UNAVAILABLE), so callers retry or count the loss as with any failed send.
//
// Concurrency: send() may be called concurrently (the worker's producer sends one request at a
// time); answers are matched by id. close() waits for the producer's close (bounded by `timeoutMs`) and ends the thread.
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, ImatchError } from './errors.js';
import { startWorker } from './worker-thread.js';

export interface ProducerThreadOptions {
  brokers: readonly string[];
  clientId: string;
  /** Topics to look up at start, so the first send does not wait for their leaders. */
  topics?: readonly string[];
  /** Name and level of the worker's own logger (stderr). */
  logName: string;
  logLevel: string;
}

export interface ThreadMessage {
  key: string;
  value: string;
  /** Kafka record timestamp, ms since the epoch as text. */
  timestamp: string;
}

/** An ImatchError across the thread boundary (its code gives status and retriable). */
export interface WireError {
  code: string;
  message: string;
}

export type WorkerIn =
  | { type: 'send'; id: number; topic: string; messages: ThreadMessage[] }
  | { type: 'close' };

export type WorkerOut =
  | { type: 'ready' }
  | { type: 'start-failed'; error: WireError }
  | { type: 'sent'; id: number }
  | { type: 'failed'; id: number; error: WireError }
  | { type: 'closed' };

function toError(e: WireError): ImatchError {
  return new ImatchError(e.code as ErrorCode, e.message);
}

export class ProducerThread {
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private seq = 0;
  private dead: ImatchError | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: WorkerOut) => {
      if (m.type === 'sent') this.settle(m.id)?.resolve();
      else if (m.type === 'failed') this.settle(m.id)?.reject(toError(m.error));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the Kafka producer thread exited (${code})`)));
  }

  /** Starts the thread and connects its producer; rejects when the producer cannot connect. */
  static start(options: ProducerThreadOptions): Promise<ProducerThread> {
    const worker = startWorker(import.meta.url, 'kafka-producer-worker', { workerData: options });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(
          new ImatchError(
            'IM_ERR_KAFKA_UNAVAILABLE',
            `The Kafka producer thread exited (${code}) while starting`,
          ),
        );
      const onError = (err: Error) => {
        worker.off('exit', onExit);
        reject(
          new ImatchError('IM_ERR_KAFKA_UNAVAILABLE', `The Kafka producer thread failed: ${err.message}`),
        );
      };
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (m: WorkerOut) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (m.type === 'ready') resolve(new ProducerThread(worker));
        else if (m.type === 'start-failed') {
          void worker.terminate();
          reject(toError(m.error));
        } else reject(new Error(`unexpected first message from the Kafka producer thread: ${m.type}`));
      });
    });
  }

  /** Sends with acks=all on the worker; resolves once every message is durable on the broker. */
  send(topic: string, messages: ThreadMessage[]): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    if (this.closing !== undefined)
      return Promise.reject(
        new ImatchError('IM_ERR_KAFKA_UNAVAILABLE', 'The Kafka producer thread is closing'),
      );
    const id = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'send', id, topic, messages } satisfies WorkerIn);
    });
  }

  /** Disconnects the producer and ends the thread (terminated after `timeoutMs`). */
  close(timeoutMs = 5000): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      if (this.dead !== undefined) return resolve();
      const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage({ type: 'close' } satisfies WorkerIn);
    });
    return this.closing;
  }

  private settle(id: number) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private fail(err: Error): void {
    if (this.dead !== undefined) return;
    this.dead = new ImatchError(
      'IM_ERR_KAFKA_UNAVAILABLE',
      `The Kafka producer thread is gone: ${err.message}`,
      {
        cause: err,
      },
    );
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }
}
