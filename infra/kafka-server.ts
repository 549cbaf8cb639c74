// A single-node Apache Kafka in KRaft mode (broker and controller in one JVM) on 127.0.0.1:
// writes server.properties and log4j.properties into `<infraDir>/kafka/`, formats the storage
// once with `kafka.tools.StorageTool format`, starts `kafka.Kafka`, and calls it ready when a
// metadata request (kafkajs admin describeCluster) lists the broker. Data:
// `<infraDir>/kafka/data`; log: `<infraDir>/kafka/kafka.log`.
// Concurrency: see launch.ts; each readiness probe is one short-lived kafkajs admin client.
import '../core/kafkajs-idle-fix.js'; // kafkajs 2.2.4's idle timer loop, fixed before any client exists
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ImatchError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { ServerJars } from './fetch.js';
import { HOST, type LaunchSpec, launch, type RunningServer } from './launch.js';

export interface KafkaOptions {
  /** `<dataDir>/infra`: this server lives in its `kafka/` subfolder. */
  infraDir: string;
  jars: ServerJars;
  port: number;
  controllerPort: number;
  /** JVM heap, e.g. "512m". */
  heap?: string;
  startTimeoutMs?: number;
  /** Extra or replaced server.properties lines. */
  overrides?: Record<string, string>;
  /** More JVM flags, e.g. `-XX:TieredStopAtLevel=1` for a faster start in tests. */
  jvmArgs?: string[];
  /** Environment of the JVMs; default: this process's. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Address to bind, advertise and probe; default 127.0.0.1. */
  host?: string;
  /** Command that execs java elsewhere (see LaunchSpec.launcher), e.g. in a network namespace. */
  launcher?: readonly string[];
  /**
   * The cluster id its storage is formatted with; every node of a cluster needs the same one.
   * Default: a fresh one (a single-node cluster).
   */
  clusterId?: string;
}

/**
 * server.properties lines of a KRaft cluster where every node is broker and controller:
 * node id, the controller quorum, and replication defaults for `members.length` nodes
 * (replication factor min(3, n), min.insync.replicas one less, unclean election off).
 */
export function kraftClusterProps(
  members: ReadonlyArray<{ id: number; host: string }>,
  self: number,
  controllerPort: number,
): Record<string, string> {
  const rf = Math.min(3, members.length);
  const minIsr = String(Math.max(1, rf - 1));
  return {
    'node.id': String(self),
    'controller.quorum.voters': members.map((m) => `${m.id}@${m.host}:${controllerPort}`).join(','),
    'default.replication.factor': String(rf),
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': String(rf),
    'transaction.state.log.replication.factor': String(rf),
    'transaction.state.log.min.isr': minIsr,
    'unclean.leader.election.enable': 'false',
  };
}

export function kafkaDir(infraDir: string): string {
  return join(infraDir, 'kafka');
}

export function serverProperties(
  logDirs: string,
  port: number,
  controllerPort: number,
  overrides: Record<string, string> = {},
  host = HOST,
): string {
  const settings: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDirs,
    'num.partitions': '1',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    // Topics are created explicitly (ensureTopics); a typo must not create a topic.
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    // 50 by default: creating them on the first consumer group join takes seconds on this machine.
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '5',
    // A single consumer joining a group should not wait 3 s for others.
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.hours': '168',
    'log.segment.bytes': String(256 * 1024 * 1024),
    ...overrides,
  };
  return `${Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
`;

/** A Kafka cluster id: 16 random bytes, base64url without padding, never starting with "-". */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export async function startKafka(options: KafkaOptions): Promise<RunningServer> {
  return launch(kafkaSpec(options));
}

/** What launch() needs to start this server (also used for preflight checks). */
export function kafkaSpec(options: KafkaOptions): LaunchSpec {
  const log = (options.log ?? silentLogger()).child({ component: 'infra', server: 'kafka' });
  const dir = kafkaDir(options.infraDir);
  const props = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j.properties');
  const dataDir = join(dir, 'data');
  const host = options.host ?? HOST;
  const jvm = [
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    ...(options.jvmArgs ?? []),
    `-Dlog4j.configuration=file:${log4j}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    options.jars.classpath,
  ];
  return {
    server: 'kafka',
    version: options.jars.version,
    dir,
    ports: [options.port, options.controllerPort],
    host,
    ...(options.launcher ? { launcher: options.launcher } : {}),
    marker: props,
    logFile: join(dir, 'kafka.log'),
    javaArgs: [`-Xmx${options.heap ?? '512m'}`, '-Xms128m', ...jvm, 'kafka.Kafka', props],
    ...(options.env ? { env: options.env } : {}),
    timeoutMs: options.startTimeoutMs ?? 120_000,
    graceMs: 20_000,
    log,
    portFlags: '--kafka-port and --kafka-controller-port (IMATCH_KAFKA_PORT, IMATCH_KAFKA_CONTROLLER_PORT)',
    probe: (port) => describeKafka(port, 2000, host),
    identify: async (port) => {
      const answer = await describeKafka(port, 1500, host);
      return answer === null ? null : `a Kafka broker (${answer})`;
    },
    prepare: async () => {
      await writeFile(
        props,
        serverProperties(dataDir, options.port, options.controllerPort, options.overrides, host),
      );
      await writeFile(log4j, LOG4J);
      if (existsSync(join(dataDir, 'meta.properties'))) return;
      const clusterId = options.clusterId ?? newClusterId();
      log.info({ clusterId, dataDir }, 'formatting Kafka storage');
      await formatStorage(
        [
          '-Xmx256m',
          ...jvm,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          props,
          '--ignore-formatted',
        ],
        options.env,
      );
    },
  };
}

function formatStorage(args: string[], env: NodeJS.ProcessEnv | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('java', args, { timeout: 120_000, env: env ?? process.env }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const output = `${stdout}\n${stderr}`
        .split('\n')
        .filter((l) => /ERROR|Exception|Error|rror:/.test(l))
        .slice(-20)
        .join('\n');
      reject(
        new ImatchError('IM_ERR_INFRA', `kafka.tools.StorageTool format failed:\n${output || err.message}`, {
          cause: err,
        }),
      );
    });
  });
}

/**
 * One metadata request to the broker on host:port (default 127.0.0.1). Returns "cluster <id>, <n> broker(s)"
 * when it answers, null otherwise.
 */
export async function describeKafka(port: number, timeoutMs: number, host = HOST): Promise<string | null> {
  const kafka = new Kafka({
    clientId: 'imatch-infra-probe',
    brokers: [`${host}:${port}`],
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) return null;
    return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } catch {
    return null;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
