// core/kafka.ts against the real Kafka of this run: explicit topics, acks=all producer, and a
// consumer that commits only what its handler finished.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  type ConsumedMessage,
  type ConsumerOptions,
  createKafka,
  createProducer,
  ensureTopics,
  type ImatchConsumer,
  type ImatchProducer,
  type Kafka,
  startConsumer,
} from '../core/kafka.js';
import { kafkaBrokers, testKafka, uniqueGroupId, uniqueTopic, waitFor } from './helpers/index.js';

async function producerFor(kafka: Kafka): Promise<ImatchProducer> {
  const producer = await createProducer(kafka);
  onTestFinished(() => producer.disconnect());
  return producer;
}

async function consumerFor(kafka: Kafka, options: ConsumerOptions): Promise<ImatchConsumer> {
  const consumer = await startConsumer(kafka, options);
  onTestFinished(() => consumer.disconnect());
  return consumer;
}

/** The group's committed offset of partition 0 ("-1" when nothing was committed). */
async function committed(kafka: Kafka, groupId: string, topic: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
  } finally {
    await admin.disconnect();
  }
}

const text = (m: ConsumedMessage) => m.value?.toString() ?? '';

describe('Kafka topics', () => {
  it('creates missing topics explicitly and is idempotent', async () => {
    const kafka = testKafka();
    const a = uniqueTopic('a');
    const b = uniqueTopic('b');
    expect(await ensureTopics(kafka, [a, { topic: b, numPartitions: 3 }])).toEqual([a, b]);
    expect(await ensureTopics(kafka, [a, b])).toEqual([]);

    const admin = kafka.admin();
    await admin.connect();
    onTestFinished(() => admin.disconnect());
    const meta = await admin.fetchTopicMetadata({ topics: [a, b] });
    expect(meta.topics.find((t) => t.name === b)?.partitions).toHaveLength(3);
  });

  it('does not create topics on send: an unknown topic is an error', async () => {
    const kafka = createKafka({
      brokers: kafkaBrokers(),
      clientId: 'imatch-test',
      retry: { retries: 1, initialRetryTime: 50 },
    });
    const producer = await producerFor(kafka);
    const err = await producer.send(uniqueTopic('missing'), [{ value: 'x' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ImatchError' });
    expect(['IM_ERR_KAFKA', 'IM_ERR_KAFKA_UNAVAILABLE']).toContain((err as { code: string }).code);
  });
});

describe('Kafka consumer commits only after its handler succeeded', () => {
  it('a failing handler commits nothing, so a restarted consumer of the group gets the message again', async () => {
    const kafka = testKafka();
    const topic = uniqueTopic('changes');
    const groupId = uniqueGroupId('isupdate');
    await ensureTopics(kafka, [topic]);
    const producer = await producerFor(kafka);
    await producer.send(topic, [{ key: 'offer-1', value: 'change-1' }]);

    // 1st consumer: its handler fails every time.
    const attempts: string[] = [];
    const failing = await consumerFor(kafka, {
      groupId,
      topics: [topic],
      retry: { retries: 0, initialRetryTime: 100 },
      eachMessage: async (m) => {
        attempts.push(text(m));
        throw new Error('apply failed');
      },
    });
    await waitFor(() => attempts.length >= 2, { what: 'the failing handler to be called (and retried)' });
    await failing.disconnect();
    expect(attempts.every((a) => a === 'change-1')).toBe(true);
    expect(await committed(kafka, groupId, topic)).toBe('-1');

    // 2nd consumer, same group: gets the same message; its handler succeeds and commits.
    const got: string[] = [];
    const ok = await consumerFor(kafka, {
      groupId,
      topics: [topic],
      eachMessage: async (m) => {
        got.push(text(m));
      },
    });
    await waitFor(() => got.length >= 1, { what: 'the message to come again' });
    expect(got).toEqual(['change-1']);
    await waitFor(async () => (await committed(kafka, groupId, topic)) === '1', {
      what: 'offset 1 committed',
    });
    await ok.disconnect();

    // 3rd consumer, same group: the committed message does not come again, only new ones.
    await producer.send(topic, [{ key: 'offer-2', value: 'change-2' }]);
    const later: string[] = [];
    await consumerFor(kafka, {
      groupId,
      topics: [topic],
      eachMessage: async (m) => {
        later.push(text(m));
      },
    });
    await waitFor(() => later.length >= 1, { what: 'the new message' });
    expect(later).toEqual(['change-2']);
  });

  it('commits the messages handled before a failure, and resumes from the failed one', async () => {
    const kafka = testKafka();
    const topic = uniqueTopic('pv');
    const groupId = uniqueGroupId('pv');
    await ensureTopics(kafka, [topic]);
    const producer = await producerFor(kafka);
    await producer.send(
      topic,
      ['m0', 'm1', 'm2', 'm3', 'm4'].map((value) => ({ value })),
    );

    const handled: string[] = [];
    const first = await consumerFor(kafka, {
      groupId,
      topics: [topic],
      retry: { retries: 0, initialRetryTime: 100 },
      eachMessage: async (m) => {
        if (text(m) === 'm3') throw new Error('poison');
        handled.push(text(m));
      },
    });
    await waitFor(async () => (await committed(kafka, groupId, topic)) === '3', {
      what: 'offset 3 committed',
    });
    await first.disconnect();
    expect(handled.slice(0, 3)).toEqual(['m0', 'm1', 'm2']);
    expect(handled).not.toContain('m3');

    const rest: string[] = [];
    await consumerFor(kafka, {
      groupId,
      topics: [topic],
      eachMessage: async (m) => {
        rest.push(text(m));
      },
    });
    await waitFor(() => rest.length >= 2, { what: 'm3 and m4' });
    expect(rest).toEqual(['m3', 'm4']);
  });

  it('a batch handler gets slices of at most maxBatchSize messages in order, each committed after it resolves', async () => {
    const kafka = testKafka();
    const topic = uniqueTopic('batch');
    const groupId = uniqueGroupId('batch');
    await ensureTopics(kafka, [topic]);
    const producer = await producerFor(kafka);
    const values = Array.from({ length: 25 }, (_, i) => `v${i}`);
    await producer.send(
      topic,
      values.map((value) => ({ value })),
    );

    const slices: string[][] = [];
    const consumer = await consumerFor(kafka, {
      groupId,
      topics: [topic],
      maxBatchSize: 10,
      eachBatch: async (messages) => {
        slices.push(messages.map(text));
      },
    });
    await waitFor(() => slices.flat().length >= 25, { what: 'all 25 messages' });
    expect(slices.flat()).toEqual(values);
    expect(Math.max(...slices.map((s) => s.length))).toBeLessThanOrEqual(10);
    await waitFor(async () => (await committed(kafka, groupId, topic)) === '25', {
      what: 'offset 25 committed',
    });
    await consumer.disconnect();
  });
});

describe('Kafka client logging', () => {
  it('routes kafkajs logs through pino with component "kafka"', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'imatch-test-logs', log });
    const topic = uniqueTopic('logs');
    await ensureTopics(kafka, [topic]);
    const consumer = await consumerFor(kafka, {
      groupId: uniqueGroupId('logs'),
      topics: [topic],
      eachMessage: async () => undefined,
    });
    await consumer.disconnect();
    const fromKafka = lines.filter((l) => l.component === 'kafka');
    expect(fromKafka.length).toBeGreaterThan(0);
    expect(fromKafka.some((l) => typeof l.namespace === 'string' && typeof l.msg === 'string')).toBe(true);
  });
});
