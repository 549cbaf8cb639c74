// core/kafka-producer-thread.ts against the real Kafka of this run: the producer on its own
// worker thread (as the blender's page-view log uses it) writes every record, acks=all, in order.
import { describe, expect, it, onTestFinished } from 'vitest';
import { ensureTopics, startConsumer } from '../core/kafka.js';
import { ProducerThread } from '../core/kafka-producer-thread.js';
import { kafkaBrokers, testKafka, uniqueGroupId, uniqueTopic, waitFor } from './helpers/index.js';

async function thread(): Promise<ProducerThread> {
  const t = await ProducerThread.start({
    brokers: kafkaBrokers(),
    clientId: 'imatch-test-thread',
    logName: 'test',
    // The missing-topic case logs its failed send at warn: expected here.
    logLevel: 'error',
  });
  onTestFinished(() => t.close());
  return t;
}

describe('ProducerThread', () => {
  it('writes every record of concurrent sends once send() resolved, with key, value and timestamp', async () => {
    const kafka = testKafka();
    const topic = uniqueTopic('pv-thread');
    await ensureTopics(kafka, [topic]);
    const producer = await thread();
    const batches = Array.from({ length: 5 }, (_, b) =>
      Array.from({ length: 40 }, (_, i) => ({
        key: `pv-${b}-${i}`,
        value: JSON.stringify({ b, i, text: 'é'.repeat(i) }),
        timestamp: String(1_790_000_000_000 + b * 1000 + i),
      })),
    );
    await Promise.all(batches.map((m) => producer.send(topic, m)));

    const got = new Map<string, { value: string; timestamp: string }>();
    const consumer = await startConsumer(kafka, {
      groupId: uniqueGroupId('pv-thread'),
      topics: [topic],
      eachMessage: async (m) => {
        got.set(m.key?.toString() ?? '', { value: m.value?.toString() ?? '', timestamp: m.timestamp });
      },
    });
    onTestFinished(() => consumer.disconnect());
    await waitFor(() => got.size >= 200, { what: 'all 200 records' });
    expect(got.size).toBe(200);
    for (const m of batches.flat())
      expect(got.get(m.key)).toEqual({ value: m.value, timestamp: m.timestamp });
  });

  it('rejects a send to a topic that does not exist, and keeps working after it', async () => {
    const kafka = testKafka();
    const topic = uniqueTopic('pv-thread-ok');
    await ensureTopics(kafka, [topic]);
    const producer = await thread();
    const err = await producer
      .send(uniqueTopic('missing'), [{ key: 'k', value: 'v', timestamp: String(Date.now()) }])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ImatchError' });
    expect(['IM_ERR_KAFKA', 'IM_ERR_KAFKA_UNAVAILABLE']).toContain((err as { code: string }).code);
    await expect(
      producer.send(topic, [{ key: 'k', value: 'v', timestamp: String(Date.now()) }]),
    ).resolves.toBe(undefined);
  });

  it('refuses sends once closed, and closing twice is harmless', async () => {
    const producer = await thread();
    await producer.close();
    await producer.close();
    await expect(producer.send('any', [])).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
  });
});
