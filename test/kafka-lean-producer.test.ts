// core/kafka-lean-producer.ts (the click filter's producer) against the real Kafka of this run:
// one send carries two topics and every record arrives once with its key, value and timestamp, on
// the partition kafkajs's default partitioner picks for its key; failures map to the engine's
// error codes and the producer keeps working after one.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createProducer, ensureTopics, startConsumer } from '../core/kafka.js';
import { LeanProducer } from '../core/kafka-lean-producer.js';
import { freePort, kafkaBrokers, testKafka, uniqueGroupId, uniqueTopic, waitFor } from './helpers/index.js';

function lean(brokers = kafkaBrokers(), extra: Partial<ConstructorParameters<typeof LeanProducer>[0]> = {}) {
  const p = new LeanProducer({ brokers, clientId: 'imatch-test-lean', ...extra });
  onTestFinished(() => p.close());
  return p;
}

interface Got {
  value: string;
  timestamp: string;
  partition: number;
}

async function readAll(topics: string[], expected: number): Promise<Map<string, Got>> {
  const got = new Map<string, Got>();
  const consumer = await startConsumer(testKafka(), {
    groupId: uniqueGroupId('lean'),
    topics,
    eachMessage: async (m) => {
      got.set(`${m.topic}/${m.key?.toString() ?? ''}`, {
        value: m.value?.toString() ?? '',
        timestamp: m.timestamp,
        partition: m.partition,
      });
    },
  });
  onTestFinished(() => consumer.disconnect());
  await waitFor(() => got.size >= expected, { what: `${expected} records` });
  return got;
}

describe('LeanProducer', () => {
  it('writes both topics of one send, each record once, where kafkajs would have put it', async () => {
    const kafka = testKafka();
    const clicks = uniqueTopic('lean-clicks');
    const settlement = uniqueTopic('lean-settlement');
    const control = uniqueTopic('lean-kafkajs');
    await ensureTopics(kafka, [
      { topic: clicks, numPartitions: 3 },
      { topic: settlement, numPartitions: 3 },
      { topic: control, numPartitions: 3 },
    ]);
    const producer = lean();
    await producer.connect([clicks, settlement]);
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 25 }, (_, i) => ({
        key: `click-${b}-${i}`,
        value: JSON.stringify({ b, i, text: 'é€'.repeat(i) }),
        timestamp: String(1_790_000_000_000 + b * 1000 + i),
      })),
    );
    // Sequential, as the decision log sends (one request in flight per producer).
    for (const messages of batches)
      await producer.send([
        { topic: clicks, messages },
        { topic: settlement, messages: messages.filter((_, i) => i % 2 === 0) },
      ]);
    // The same keys through kafkajs's default partitioner, for comparison.
    const kjs = await createProducer(kafka);
    onTestFinished(() => kjs.disconnect());
    await kjs.send(control, batches.flat());

    const all = batches.flat();
    const settled = batches.flatMap((m) => m.filter((_, i) => i % 2 === 0));
    const got = await readAll([clicks, settlement, control], all.length * 2 + settled.length);
    expect(got.size).toBe(all.length * 2 + settled.length);
    const partitions = new Set<number>();
    for (const m of all) {
      const c = got.get(`${clicks}/${m.key}`);
      expect(c).toMatchObject({ value: m.value, timestamp: m.timestamp });
      expect(c?.partition).toBe(got.get(`${control}/${m.key}`)?.partition);
      partitions.add(c!.partition);
    }
    expect(partitions.size).toBeGreaterThan(1);
    for (const m of settled) expect(got.get(`${settlement}/${m.key}`)).toMatchObject({ value: m.value });
  });

  it('takes overlapping sends to one partition one after another: every record once, in order', async () => {
    const topic = uniqueTopic('lean-overlap');
    await ensureTopics(testKafka(), [topic]);
    const producer = lean();
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => ({ key: `k-${b}-${i}`, value: `${b * 10 + i}`, timestamp: '1' })),
    );
    await Promise.all(batches.map((messages) => producer.send([{ topic, messages }])));
    const order: number[] = [];
    const consumer = await startConsumer(testKafka(), {
      groupId: uniqueGroupId('lean-overlap'),
      topics: [topic],
      eachMessage: async (m) => {
        order.push(Number(m.value?.toString()));
      },
    });
    onTestFinished(() => consumer.disconnect());
    await waitFor(() => order.length >= 80, { what: '80 records' });
    expect(order).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });

  it('rejects a send to a topic that does not exist with IM_ERR_KAFKA, and the next send works', async () => {
    const topic = uniqueTopic('lean-ok');
    await ensureTopics(testKafka(), [topic]);
    const producer = lean();
    const err = await producer
      .send([
        {
          topic: uniqueTopic('missing'),
          messages: [{ key: 'k', value: 'v', timestamp: String(Date.now()) }],
        },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ImatchError', code: 'IM_ERR_KAFKA' });
    await producer.send([
      { topic, messages: [{ key: 'after', value: 'v2', timestamp: String(Date.now()) }] },
    ]);
    const got = await readAll([topic], 1);
    expect(got.get(`${topic}/after`)).toMatchObject({ value: 'v2' });
  });

  it('says Kafka is unavailable (retriable) when no broker answers, and refuses sends once closed', async () => {
    const port = await freePort();
    const producer = lean([`127.0.0.1:${port}`], {
      retries: 2,
      retryDelayMs: 50,
      connectTimeoutMs: 500,
      requestTimeoutMs: 1000,
    });
    await expect(producer.connect(['any'])).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
    await expect(
      producer.send([{ topic: 'any', messages: [{ key: 'k', value: 'v', timestamp: '1' }] }]),
    ).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
    await producer.close();
    await producer.close();
    await expect(producer.send([])).rejects.toMatchObject({ code: 'IM_ERR_KAFKA' });
  });
});
