// The API in front of the local servers, used by `imatch infra ...`, by test/global-setup.ts and
// by `imatch start`: fetch the jars, bring ZooKeeper and Kafka up (in parallel; they do not depend
// on each other in KRaft mode), report their status, and stop exactly the processes `up` started
// (PIDs from each server's state.json, checked against their command line).
// Concurrency: upServers starts both servers at once and, when one fails, stops the other before
// rethrowing, so a failed `up` leaves nothing running that it started.
import { join } from 'node:path';
import { ImatchError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { fetchServers, SERVER_NAMES, type ServerName } from './fetch.js';
import { describeKafka, kafkaDir, kafkaSpec } from './kafka-server.js';
import {
  launch,
  preflight,
  type RunningServer,
  readRecord,
  removeRecord,
  type ServerRecord,
} from './launch.js';
import { isOurProcess, stopProcess } from './process.js';
import { fourLetterWord, zooKeeperDir, zooKeeperSpec } from './zookeeper-server.js';

export { fetchServer, fetchServers, type ServerJars, type ServerName } from './fetch.js';
export { describeKafka, startKafka } from './kafka-server.js';
export { isPortFree, type RunningServer, type ServerRecord } from './launch.js';
export { fourLetterWord, startZooKeeper } from './zookeeper-server.js';

export interface UpOptions {
  /** `<dataDir>/infra` (see settings.ts infraDirOf). */
  infraDir: string;
  cacheDir: string;
  zkPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
  zkHeap?: string;
  kafkaHeap?: string;
  startTimeoutMs?: number;
  zkOverrides?: Record<string, string>;
  kafkaOverrides?: Record<string, string>;
  /** More JVM flags for both servers, e.g. `-XX:TieredStopAtLevel=1` for a faster start in tests. */
  jvmArgs?: string[];
  /** Environment of the JVMs; default: this process's. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export interface UpResult {
  zookeeper: RunningServer;
  kafka: RunningServer;
}

/** Fetches (cached) and starts both servers; resolves once both answer real requests. */
export async function upServers(options: UpOptions): Promise<UpResult> {
  const log = options.log ?? silentLogger();
  const jars = await fetchServers({ cacheDir: options.cacheDir, log });
  const common = {
    infraDir: options.infraDir,
    log,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.jvmArgs === undefined ? {} : { jvmArgs: options.jvmArgs }),
  };
  const specs = [
    zooKeeperSpec({
      ...common,
      jars: jars.zookeeper,
      port: options.zkPort,
      ...(options.zkHeap === undefined ? {} : { heap: options.zkHeap }),
      ...(options.zkOverrides === undefined ? {} : { overrides: options.zkOverrides }),
    }),
    kafkaSpec({
      ...common,
      jars: jars.kafka,
      port: options.kafkaPort,
      controllerPort: options.kafkaControllerPort,
      ...(options.kafkaHeap === undefined ? {} : { heap: options.kafkaHeap }),
      ...(options.kafkaOverrides === undefined ? {} : { overrides: options.kafkaOverrides }),
    }),
  ];
  // Check every port first, so a taken one fails fast, before either JVM starts.
  for (const spec of specs) await preflight(spec);
  const results = await Promise.allSettled(specs.map(launch));
  const [zk, kafka] = results as [PromiseSettledResult<RunningServer>, PromiseSettledResult<RunningServer>];
  if (zk.status === 'fulfilled' && kafka.status === 'fulfilled')
    return { zookeeper: zk.value, kafka: kafka.value };
  // Leave nothing behind that this call started.
  for (const r of results) {
    if (r.status === 'fulfilled' && !r.value.alreadyRunning) await stopServer(r.value.dir, log);
  }
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason);
  if (errors.length === 1) throw errors[0];
  throw new ImatchError(
    'IM_ERR_INFRA',
    errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n'),
    {
      cause: errors[0],
    },
  );
}

export function serverDir(infraDir: string, server: ServerName): string {
  return server === 'zookeeper' ? zooKeeperDir(infraDir) : kafkaDir(infraDir);
}

export interface StopResult {
  server: ServerName;
  pid: number | null;
  result: 'not-running' | 'terminated' | 'killed';
}

/** Stops the server recorded in `dir`'s state.json (SIGTERM, SIGKILL after the grace). */
export async function stopServer(dir: string, log: Logger = silentLogger()): Promise<StopResult | null> {
  const record = await readRecord(dir);
  if (!record) return null;
  const grace = record.server === 'kafka' ? 20_000 : 10_000;
  const result = await stopProcess(record.pid, record.marker, grace);
  await removeRecord(dir);
  if (result !== 'not-running') log.info({ serverPid: record.pid, how: result }, `${record.server} stopped`);
  return { server: record.server, pid: record.pid, result };
}

/** Stops Kafka, then ZooKeeper, as recorded under infraDir. */
export async function downServers(infraDir: string, log: Logger = silentLogger()): Promise<StopResult[]> {
  const out: StopResult[] = [];
  for (const server of ['kafka', 'zookeeper'] as const) {
    const r = await stopServer(serverDir(infraDir, server), log);
    out.push(r ?? { server, pid: null, result: 'not-running' });
  }
  return out;
}

export interface ServerStatus {
  server: ServerName;
  /** running: our process answers; starting: our process is alive but does not answer (yet); stopped. */
  state: 'running' | 'starting' | 'stopped';
  pid: number | null;
  address: string | null;
  answer: string | null;
  dir: string;
  logFile: string;
  record: ServerRecord | null;
}

export async function infraStatus(infraDir: string): Promise<ServerStatus[]> {
  return Promise.all(
    SERVER_NAMES.map(async (server): Promise<ServerStatus> => {
      const dir = serverDir(infraDir, server);
      const record = await readRecord(dir);
      const logFile = join(dir, `${server}.log`);
      if (!record || !isOurProcess(record.pid, record.marker)) {
        return { server, state: 'stopped', pid: null, address: null, answer: null, dir, logFile, record };
      }
      const answer =
        server === 'zookeeper'
          ? ((await fourLetterWord(record.port, 'srvr', 1000))?.match(/^Mode: .+$/m)?.[0] ?? null)
          : await describeKafka(record.port, 2000);
      return {
        server,
        state: answer === null ? 'starting' : 'running',
        pid: record.pid,
        address: `${record.host}:${record.port}`,
        answer,
        dir,
        logFile,
        record,
      };
    }),
  );
}
