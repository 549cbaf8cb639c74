// The worker-thread side of core/kafka-producer-thread.ts: one acks=all producer (core/kafka.ts
// createProducer) driven by messages from the thread that started it. Protocol (structured clone):
//   in:  { type: 'send', id, topic, messages: {key, value, timestamp}[] } | { type: 'close' }
//   out: { type: 'ready' } | { type: 'start-failed', error } | { type: 'sent', id }
//        | { type: 'failed', id, error } | { type: 'closed' }
// where error = { code, message } of the ImatchError core/kafka.ts raised.
// Concurrency: sends run concurrently as the caller issues them (kafkajs serializes them per
// broker: one request in flight, as idempotence requires); the worker exits after 'closed'.
import { parentPort, workerData } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import { isImatchError } from './errors.js';
import { createKafka, createProducer, type ImatchProducer } from './kafka.js';
import type { ProducerThreadOptions, WireError, WorkerIn, WorkerOut } from './kafka-producer-thread.js';
import { createLogger } from './logger.js';

const port = parentPort;
if (port === null) throw new Error('kafka-producer-worker runs in a worker thread only');
const options = workerData as ProducerThreadOptions;
const post = (m: WorkerOut) => port.postMessage(m);

function wire(err: unknown): WireError {
  if (isImatchError(err)) return { code: err.code, message: err.message };
  return { code: 'IM_ERR_KAFKA', message: err instanceof Error ? err.message : String(err) };
}

let producer: ImatchProducer | undefined;
try {
  const log = createLogger({ name: options.logName, level: options.logLevel as LevelWithSilent, fd: 2 });
  const kafka = createKafka({ brokers: options.brokers, clientId: options.clientId, log });
  producer = await createProducer(kafka, { log });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'start-failed', error: wire(err) });
  port.close();
}

port.on('message', (m: WorkerIn) => {
  if (producer === undefined) return;
  if (m.type === 'send') {
    producer.send(m.topic, m.messages).then(
      () => post({ type: 'sent', id: m.id }),
      (err: unknown) => post({ type: 'failed', id: m.id, error: wire(err) }),
    );
  } else if (m.type === 'close') {
    producer
      .disconnect()
      .catch(() => {})
      .finally(() => {
        post({ type: 'closed' });
        port.close();
      });
  }
});
