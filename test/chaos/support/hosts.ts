// The hosts of the fault suite's network, one namespace each (support/network.ts): three
// ZooKeeper nodes, three Kafka nodes and the engine's processes. Kept apart from engine.ts so the
// global setup can name them without loading vitest's per-file hooks.
export const ZK_HOSTS = ['zk1', 'zk2', 'zk3'] as const;
export const KAFKA_HOSTS = ['kafka1', 'kafka2', 'kafka3'] as const;
export const ENGINE_HOSTS = [
  'dispatch1',
  'dispatch2',
  'searcher-c0-a',
  'searcher-c0-b',
  'searcher-c1-a',
  'searcher-c1-b',
  'merger',
  'blender',
  'click',
  'billing',
] as const;
export type EngineHost = (typeof ENGINE_HOSTS)[number];
