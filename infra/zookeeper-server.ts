// A standalone Apache ZooKeeper on 127.0.0.1: writes zoo.cfg and logback.xml into
// `<infraDir>/zookeeper/`, starts `ZooKeeperServerMain`, and calls it ready when it answers the
// `srvr` four-letter word with its mode. Data: `<infraDir>/zookeeper/data`; log:
// `<infraDir>/zookeeper/zookeeper.log`.
// Concurrency: see launch.ts; `srvr` probes are one short TCP exchange each.
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../core/logger.js';
import type { ServerJars } from './fetch.js';
import { HOST, type LaunchSpec, launch, type RunningServer } from './launch.js';

export interface ZooKeeperOptions {
  /** `<dataDir>/infra`: this server lives in its `zookeeper/` subfolder. */
  infraDir: string;
  jars: ServerJars;
  port: number;
  /** JVM heap, e.g. "256m". */
  heap?: string;
  startTimeoutMs?: number;
  /** Extra or replaced zoo.cfg lines. */
  overrides?: Record<string, string>;
  /** More JVM flags, e.g. `-XX:TieredStopAtLevel=1` for a faster start in tests. */
  jvmArgs?: string[];
  /** Environment of the JVM; default: this process's. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Address to bind and probe; default 127.0.0.1. */
  host?: string;
  /** Command that execs java elsewhere (see LaunchSpec.launcher), e.g. in a network namespace. */
  launcher?: readonly string[];
  /**
   * This server's id in an ensemble (written to `data/myid`); the ensemble itself is given as
   * `server.<id>` overrides (see ensembleCfg).
   */
  myId?: number;
}

/** zoo.cfg lines of an ensemble: `server.<id>=<host>:<peerPort>:<electionPort>` for each member. */
export function ensembleCfg(
  members: ReadonlyArray<{ id: number; host: string }>,
  peerPort = 2888,
  electionPort = 3888,
): Record<string, string> {
  return Object.fromEntries(members.map((m) => [`server.${m.id}`, `${m.host}:${peerPort}:${electionPort}`]));
}

export function zooKeeperDir(infraDir: string): string {
  return join(infraDir, 'zookeeper');
}

export function zooCfg(
  dataDir: string,
  port: number,
  overrides: Record<string, string> = {},
  host = HOST,
): string {
  const settings: Record<string, string> = {
    tickTime: '2000',
    dataDir,
    clientPort: String(port),
    clientPortAddress: host,
    // Every test and service connects from 127.0.0.1: the default cap of 60 per address is too low.
    maxClientCnxns: '0',
    minSessionTimeout: '1000',
    maxSessionTimeout: '60000',
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': 'srvr,ruok',
    'autopurge.snapRetainCount': '3',
    'autopurge.purgeInterval': '1',
    ...overrides,
  };
  return `${Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOGBACK = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <logger name="org.apache.zookeeper.server.NIOServerCnxn" level="WARN"/>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
`;

export async function startZooKeeper(options: ZooKeeperOptions): Promise<RunningServer> {
  return launch(zooKeeperSpec(options));
}

/** What launch() needs to start this server (also used for preflight checks). */
export function zooKeeperSpec(options: ZooKeeperOptions): LaunchSpec {
  const log = (options.log ?? silentLogger()).child({ component: 'infra', server: 'zookeeper' });
  const dir = zooKeeperDir(options.infraDir);
  const cfg = join(dir, 'zoo.cfg');
  const logback = join(dir, 'logback.xml');
  const host = options.host ?? HOST;
  return {
    server: 'zookeeper',
    version: options.jars.version,
    dir,
    ports: [options.port],
    host,
    ...(options.launcher ? { launcher: options.launcher } : {}),
    marker: cfg,
    logFile: join(dir, 'zookeeper.log'),
    javaArgs: [
      `-Xmx${options.heap ?? '256m'}`,
      '-XX:+ExitOnOutOfMemoryError',
      '-XX:-UsePerfData',
      '-Djava.awt.headless=true',
      ...(options.jvmArgs ?? []),
      `-Dlogback.configurationFile=${logback}`,
      '-cp',
      options.jars.classpath,
      // An ensemble member needs QuorumPeerMain (ZooKeeperServerMain ignores server.N lines and
      // runs standalone, so three of them would be three separate ZooKeepers).
      options.myId === undefined
        ? 'org.apache.zookeeper.server.ZooKeeperServerMain'
        : 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
    ...(options.env ? { env: options.env } : {}),
    timeoutMs: options.startTimeoutMs ?? 60_000,
    graceMs: 10_000,
    log,
    portFlags: '--zk-port (IMATCH_ZK_PORT)',
    probe: async (port) => {
      const answer = await fourLetterWord(port, 'srvr', 1000, host);
      const mode = /^Mode: (.+)$/m.exec(answer ?? '')?.[1];
      return mode === undefined
        ? null
        : `${/^Zookeeper version: ([^-,]+)/m.exec(answer!)?.[1] ?? '?'} ${mode}`;
    },
    identify: async (port) => {
      const answer = await fourLetterWord(port, 'srvr', 1000, host);
      const version = /^Zookeeper version: ([^,]+)/m.exec(answer ?? '')?.[1];
      return version === undefined ? null : `a ZooKeeper server (${version.split('-')[0]})`;
    },
    prepare: async () => {
      await writeFile(cfg, zooCfg(join(dir, 'data'), options.port, options.overrides, host));
      await writeFile(logback, LOGBACK);
      if (options.myId !== undefined) {
        await mkdir(join(dir, 'data'), { recursive: true });
        await writeFile(join(dir, 'data', 'myid'), `${options.myId}\n`);
      }
    },
  };
}

/**
 * Sends a ZooKeeper four-letter word (`srvr`, `ruok`) and returns the whole answer, or null when
 * nothing answers within timeoutMs.
 */
export function fourLetterWord(
  port: number,
  word: string,
  timeoutMs: number,
  host = HOST,
): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    const done = (value: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('connect', () => socket.write(word));
    socket.on('data', (c) => chunks.push(c));
    socket.once('end', () => done(chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null));
    socket.once('error', () => done(null));
  });
}
