// The worker-thread side of core/kafka-producer-thread.ts: one idempotent acks=all producer
// (core/kafka-lean-producer.ts, @platformatic/kafka) driven by messages from the thread that
// started it. Protocol (structured clone):
//   in:  { type: 'send', id, topic, messages: {key, value, timestamp}[] } | { type: 'close' }
//   out: { type: 'ready' } | { type: 'start-failed', error } | { type: 'sent', id }
//        | { type: 'failed', id, error } | { type: 'closed' }
// where error = { code, message } of the ImatchError the producer raised.
// Why not kafkajs, which this thread ran before: with it, the thread cost the blender about 15% of
// its CPU in the query-path bench (a profile of the thread: kafkajs's JavaScript CRC-32C 18% of
// the thread, Buffer allocations 17%, 64-bit varint arithmetic), on the same two cores as the
// query path (BENCHMARKS.md, "Afternoon of 2026-12-07").
// Concurrency: sends may overlap as the caller issues them; the producer queues them, one
// request in flight (as idempotence requires); the worker exits after 'closed'.
import { parentPort, workerData } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import { isImatchError } from './errors.js';
import { LeanProducer } from './kafka-lean-producer.js';
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

let producer: LeanProducer | undefined;
try {
  const log = createLogger({ name: options.logName, level: options.logLevel as LevelWithSilent, fd: 2 });
  const lean = new LeanProducer({ brokers: options.brokers, clientId: options.clientId, log });
  await lean.connect(options.topics ?? []);
  producer = lean;
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'start-failed', error: wire(err) });
  port.close();
}

port.on('message', (m: WorkerIn) => {
  if (producer === undefined) return;
  if (m.type === 'send') {
    producer.send([{ topic: m.topic, messages: m.messages }]).then(
      () => post({ type: 'sent', id: m.id }),
      (err: unknown) => post({ type: 'failed', id: m.id, error: wire(err) }),
    );
  } else if (m.type === 'close') {
    producer
      .close()
      .catch(() => {})
      .finally(() => {
        post({ type: 'closed' });
        port.close();
      });
  }
});
