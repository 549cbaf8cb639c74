// Settings of the local ZooKeeper and Kafka servers (`imatch infra ...`, later `imatch start`).
// Pure schema, no I/O: spread InfraSettings into a command's schema and read it with
// core/config.ts loadConfig (flags > IMATCH_* variables > defaults).
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';

const port = (dflt: number, description: string) =>
  Type.Integer({ default: dflt, minimum: 1, maximum: 65535, description });

export const InfraSettings = {
  infraCacheDir: Type.String({
    default: '~/.cache/imatch/infra',
    minLength: 1,
    description: 'Cache of the server jars and the Maven repository they come from',
  }),
  zkPort: port(2181, 'ZooKeeper client port on 127.0.0.1'),
  kafkaPort: port(9092, 'Kafka broker port on 127.0.0.1'),
  kafkaControllerPort: port(9093, 'Kafka KRaft controller port on 127.0.0.1'),
  zkHeap: Type.String({
    default: '256m',
    pattern: '^[0-9]+[kmgKMG]$',
    description: 'ZooKeeper JVM heap (-Xmx)',
  }),
  kafkaHeap: Type.String({
    default: '512m',
    pattern: '^[0-9]+[kmgKMG]$',
    description: 'Kafka JVM heap (-Xmx)',
  }),
  infraJvmArgs: Type.Array(Type.String({ pattern: '^-' }), {
    default: [],
    description:
      'Extra JVM flags for both servers, comma-separated (e.g. -XX:TieredStopAtLevel=1 starts faster)',
  }),
  infraStartTimeoutMs: Type.Integer({
    default: 120_000,
    minimum: 1000,
    description: 'How long a server may take to answer after it was started (ms)',
  }),
};

/** `~/x` -> `$HOME/x`; relative paths are resolved against the working directory. */
export function expandPath(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

/** Where `up` keeps server data, logs and its state file: `<dataDir>/infra`. */
export function infraDirOf(dataDir: string): string {
  return join(expandPath(dataDir), 'infra');
}
