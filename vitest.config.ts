import { configDefaults, defineConfig } from 'vitest/config';

// Two projects: `unit` runs pure-logic tests next to the code (no servers, no network);
// `integration` runs test/**/*.test.ts against a real ZooKeeper and a real Kafka that
// test/global-setup.ts starts once per run (or reuses when IMATCH_TEST_ZK / IMATCH_TEST_KAFKA
// point at running servers) and stops afterwards.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'core/**/*.test.ts',
            'services/**/*.test.ts',
            'index-builder/**/*.test.ts',
            'dispatch/**/*.test.ts',
            'click-filter/**/*.test.ts',
            'billing/**/*.test.ts',
            'infra/**/*.test.ts',
            'bin/**/*.test.ts',
            'bench/**/*.test.ts',
            'learner/**/*.test.ts',
            'reports/**/*.test.ts',
            'simulator/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // The fault suite has its own config (vitest.chaos.config.ts, `npm run test:chaos`).
          exclude: [...configDefaults.exclude, 'test/chaos/**'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
