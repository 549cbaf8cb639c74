// Reads a whole topic partition 0 from the beginning up to its current end, with a fresh
// consumer group, for checks after a scenario (what is durable in Kafka).
import { uniqueName } from '../../helpers/names.js';
import type { Cluster } from './cluster.js';

export async function readTopic<T>(cluster: Cluster, topic: string, timeoutMs = 60_000): Promise<T[]> {
  const kafka = cluster.kafka('imatch-chaos-reader');
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const end = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  const out: T[] = [];
  if ([...end.values()].every((h) => h === 0)) return out;
  const consumer = kafka.consumer({ groupId: `chaos.${uniqueName('reader')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      const left = new Map([...end].filter(([, h]) => h > 0));
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          out.push(JSON.parse(message.value?.toString('utf8') ?? 'null') as T);
          if (Number(message.offset) + 1 >= (left.get(partition) ?? 0)) left.delete(partition);
          if (left.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return out;
}
