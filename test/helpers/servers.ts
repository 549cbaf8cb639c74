// The real ZooKeeper and Kafka of this test run, as test/global-setup.ts provided them, plus
// clients of core/zookeeper.ts and core/kafka.ts on them that are closed when the test ends.
import { inject, onTestFinished } from 'vitest';
import { createKafka, type Kafka } from '../../core/kafka.js';
import { connectZk, type ZkClient, type ZkClientOptions } from '../../core/zookeeper.js';

export function zkConnect(): string {
  return inject('zkConnect');
}

export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers');
}

/** A ZooKeeper client on the test server, closed when the current test finishes. */
export async function testZk(options: Partial<ZkClientOptions> = {}): Promise<ZkClient> {
  const client = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000, ...options });
  onTestFinished(() => client.close());
  return client;
}

/** A kafkajs instance (logs through pino, silent by default) on the test broker. */
export function testKafka(clientId = 'imatch-test'): Kafka {
  return createKafka({ brokers: kafkaBrokers(), clientId });
}
