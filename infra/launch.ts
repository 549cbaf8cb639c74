// The start sequence shared by both servers: find a server this data folder already runs, refuse
// ports taken by something else (and say what answers there), spawn the JVM, record its PID in
// `<dir>/state.json`, wait until the server answers a real request, and on any failure print
// the server's own error and leave no process behind.
// Concurrency: one launch per data folder at a time is assumed (the state file is per server, so
// ZooKeeper and Kafka can start in parallel). Readiness is polled every 100 ms against a deadline.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ServerName } from './fetch.js';
import { errorExcerpt, isOurProcess, spawnJava, stopProcess } from './process.js';

export const HOST = '127.0.0.1';

/** What `up` records about a server it started, in `<infraDir>/<server>/state.json`. */
export interface ServerRecord {
  server: ServerName;
  pid: number;
  /** A string on the process's command line (its config file path): guards against PID reuse. */
  marker: string;
  host: string;
  port: number;
  /** Every port the server listens on (Kafka: broker and controller). */
  ports: number[];
  version: string;
  dir: string;
  logFile: string;
  startedAt: string;
}

export interface RunningServer extends ServerRecord {
  /** `127.0.0.1:<port>`: the ZooKeeper connect string or the Kafka bootstrap broker. */
  address: string;
  /** True when the server was already running from this data folder and was left as it was. */
  alreadyRunning: boolean;
  /** What the readiness probe got back (ZooKeeper's `srvr` answer, Kafka's cluster id). */
  answer: string;
}

export interface LaunchSpec {
  server: ServerName;
  version: string;
  dir: string;
  /** Ports the server will bind; the first is its client port. */
  ports: number[];
  /** Address it binds and is probed on; default 127.0.0.1. */
  host?: string;
  /**
   * Command that execs java elsewhere, e.g. `['ip', 'netns', 'exec', 'ns1']` (default: none).
   * The ports are then another network's: they are not checked from here before the start.
   */
  launcher?: readonly string[];
  marker: string;
  logFile: string;
  javaArgs: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  graceMs: number;
  log: Logger;
  /** Returns a short description when the server on `port` answers, else null. */
  probe(port: number): Promise<string | null>;
  /** Says what foreign server (if any) answers on a taken port, for the error message. */
  identify(port: number): Promise<string | null>;
  /** Runs once before the JVM is spawned (write configs, format storage). */
  prepare(): Promise<void>;
  /** Flag names that choose the ports, for error messages. */
  portFlags: string;
}

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export async function readRecord(dir: string): Promise<ServerRecord | null> {
  try {
    return JSON.parse(await readFile(statePath(dir), 'utf8')) as ServerRecord;
  } catch {
    return null;
  }
}

async function writeRecord(record: ServerRecord): Promise<void> {
  const path = statePath(record.dir);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(tmp, path);
}

export async function removeRecord(dir: string): Promise<void> {
  await rm(statePath(dir), { force: true });
}

/** True when nothing listens on 127.0.0.1:port (we could bind it). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: HOST, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Before starting anything: fails with a clear message when a port of `spec` is taken by
 * something other than the server this data folder already runs.
 */
export async function preflight(spec: LaunchSpec): Promise<void> {
  const existing = await readRecord(spec.dir);
  if (existing && isOurProcess(existing.pid, existing.marker)) return;
  await assertPortsFree(spec);
}

async function assertPortsFree(spec: LaunchSpec): Promise<void> {
  if ((spec.launcher?.length ?? 0) > 0) return;
  for (const port of spec.ports) {
    if (await isPortFree(port)) continue;
    const what = await spec.identify(port).catch(() => null);
    throw new ImatchError(
      'IM_ERR_INFRA',
      `Cannot start ${spec.server}: port ${port} on ${HOST} is already in use by ${what ?? 'another program'}` +
        ` that was not started from ${spec.dir}. Stop it, or choose other ports with ${spec.portFlags}.`,
      { details: { server: spec.server, port, occupant: what } },
    );
  }
}

export async function launch(spec: LaunchSpec): Promise<RunningServer> {
  const { log, server } = spec;
  await mkdir(spec.dir, { recursive: true });

  const existing = await readRecord(spec.dir);
  if (existing && isOurProcess(existing.pid, existing.marker)) {
    if (existing.port !== spec.ports[0]) {
      throw new ImatchError(
        'IM_ERR_INFRA',
        `${server} from ${spec.dir} is already running on ${existing.host}:${existing.port} (pid ${existing.pid}), ` +
          `not on port ${spec.ports[0]}; run "imatch infra down" first to change its ports`,
      );
    }
    const answer = await waitReady(spec, existing.pid, null);
    log.info({ serverPid: existing.pid, port: existing.port }, `${server} already running`);
    return { ...existing, address: `${existing.host}:${existing.port}`, alreadyRunning: true, answer };
  }
  if (existing) await removeRecord(spec.dir); // stale: its process is gone
  await assertPortsFree(spec);

  await spec.prepare();
  const started = Date.now();
  const proc = spawnJava(spec.javaArgs, spec.logFile, spec.env, spec.launcher);
  if (proc.pid < 0) {
    const why = await proc.exited;
    throw new ImatchError(
      'IM_ERR_INFRA',
      `Cannot start ${server}: ${why}. Is Java 17 installed and on PATH?`,
    );
  }
  const host = spec.host ?? HOST;
  const record: ServerRecord = {
    server,
    pid: proc.pid,
    marker: spec.marker,
    host,
    port: spec.ports[0]!,
    ports: spec.ports,
    version: spec.version,
    dir: spec.dir,
    logFile: spec.logFile,
    startedAt: new Date().toISOString(),
  };
  await writeRecord(record);
  log.debug({ serverPid: proc.pid, args: spec.javaArgs.join(' ') }, `${server} spawned`);

  try {
    const answer = await waitReady(spec, proc.pid, proc.hasExited);
    log.info({ serverPid: proc.pid, port: record.port, ms: Date.now() - started }, `${server} ready`);
    return { ...record, address: `${host}:${record.port}`, alreadyRunning: false, answer };
  } catch (err) {
    await stopProcess(proc.pid, spec.marker, 2000);
    await removeRecord(spec.dir);
    throw err;
  }
}

async function waitReady(spec: LaunchSpec, pid: number, hasExited: (() => boolean) | null): Promise<string> {
  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    const exited = hasExited ? hasExited() : !isOurProcess(pid, spec.marker);
    if (exited) {
      throw new ImatchError(
        'IM_ERR_INFRA',
        `${spec.server} exited during start-up. Its log (${spec.logFile}) says:\n${await errorExcerpt(spec.logFile)}`,
      );
    }
    const answer = await spec.probe(spec.ports[0]!).catch(() => null);
    if (answer !== null) return answer;
    if (Date.now() > deadline) {
      throw new ImatchError(
        'IM_ERR_INFRA',
        `${spec.server} (pid ${pid}) did not answer on ${spec.host ?? HOST}:${spec.ports[0]} within ${spec.timeoutMs} ms. ` +
          `Its log (${spec.logFile}) ends with:\n${await errorExcerpt(spec.logFile)}`,
      );
    }
    await sleep(100);
  }
}
