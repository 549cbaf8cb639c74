import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:chaos`): a 3-node ZooKeeper ensemble, 3 Kafka brokers and the
// engine's processes, each in its own network namespace, with partitions, loss, pauses and kills
// (test/chaos/). Needs root; scripts/ensure-netns-tools.sh installs what it needs first. One
// scenario file at a time: they share the cluster and the machine has two cores.
export default defineConfig({
  test: {
    name: 'chaos',
    include: ['test/chaos/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/chaos/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
