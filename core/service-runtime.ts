// The life cycle every HTTP service shares once its app is built: listen, work out the URL other
// services should call (advertise), register it in ZooKeeper, and stop in order with a force
// timer. Settings every service has (advertiseHost, id, shutdownTimeoutMs) are declared here once.
//
// Stop order (close() of startServiceRuntime, idempotent): the service's `beforeStop` steps (leave
// an election, stop watches), deregister (callers stop choosing this instance while it still
// answers), stop accepting and finish in-flight requests (after shutdownTimeoutMs the remaining
// connections are closed anyway), then the service's `afterStop` steps in order (drain buffers,
// disconnect clients, close the ZooKeeper session). A failing step is logged and the next runs.
//
// Concurrency: one event loop; close() may be called from a signal handler and from a test at the
// same time and runs once.
import { hostname } from 'node:os';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { Registration, ZkClient } from './zookeeper.js';

/** Spread into every service's config schema. */
export const ServiceSettings = {
  advertiseHost: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "Host other services are told to call (ZooKeeper registration, leader URL); default: --host, or this machine's host name when --host is 0.0.0.0 or ::",
    }),
  ),
  shutdownTimeoutMs: Type.Integer({
    default: 10_000,
    minimum: 100,
    description: 'How long a graceful stop waits for in-flight requests and buffered records (ms)',
  }),
};

/** Spread into the config schema of a service whose instances are named by configuration. */
export const IdSetting = {
  id: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      description: 'Instance id, its ZooKeeper registration node name (default: <advertised host>-<port>)',
    }),
  ),
};

/** The host other services should call: --advertise-host, else the listen host, never 0.0.0.0. */
export function advertisedHost(listenHost: string, advertiseHost?: string): string {
  if (advertiseHost !== undefined) return advertiseHost;
  return listenHost === '0.0.0.0' || listenHost === '::' ? hostname() : listenHost;
}

export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `<host>-<port>` with characters a znode name should not have replaced. */
export function defaultId(host: string, port: number): string {
  return `${host.replace(/[^A-Za-z0-9_.-]/g, '_')}-${port}`;
}

export interface Listening {
  url: string;
  port: number;
  /** config.id, or <advertised host>-<port>. */
  id: string;
}

/** Listens and works out the advertised URL and id. */
export async function listen(
  app: FastifyInstance,
  config: { host: string; port: number; advertiseHost?: string | undefined; id?: string | undefined },
): Promise<Listening> {
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = advertisedHost(config.host, config.advertiseHost);
  return { url: urlOf(host, port), port, id: config.id ?? defaultId(host, port) };
}

export type Step = readonly [what: string, run: () => unknown];

export interface StopSteps {
  /** The registration to remove before the app stops (read at stop time). */
  registration?: () => Registration | undefined;
  beforeStop?: Step[];
  afterStop?: Step[];
  /** Fields of the final "stopped" log line. */
  summary?: () => Record<string, unknown>;
}

/**
 * The ordered, idempotent graceful stop of a service (see the top of this file); `name` is the
 * service's, for the log lines ("merger shutting down").
 */
export function gracefulStop(
  name: string,
  log: Logger,
  app: FastifyInstance,
  shutdownTimeoutMs: number,
  steps: StopSteps,
): () => Promise<void> {
  const o = { name, log, app, shutdownTimeoutMs, ...steps };
  let stopping: Promise<void> | undefined;
  const run = async ([what, step]: Step) => {
    try {
      await step();
    } catch (err) {
      o.log.warn({ err, step: what }, 'shutdown step failed; going on');
    }
  };
  return () => {
    stopping ??= (async () => {
      o.log.info(`${o.name} shutting down`);
      for (const step of o.beforeStop ?? []) await run(step);
      const registration = o.registration?.();
      if (registration !== undefined) await run(['deregister', () => registration.unregister()]);
      const forced = setTimeout(() => {
        o.log.warn({ timeoutMs: o.shutdownTimeoutMs }, 'in-flight requests did not finish; closing anyway');
        o.app.server.closeAllConnections();
      }, o.shutdownTimeoutMs);
      await run(['stop the HTTP app', () => o.app.close()]);
      clearTimeout(forced);
      for (const step of o.afterStop ?? []) await run(step);
      o.log.info(o.summary?.() ?? {}, `${o.name} stopped`);
    })();
    return stopping;
  };
}

/**
 * The readiness problem of a service that must be discoverable: none once its node is registered
 * and its ZooKeeper session is up.
 */
export function registrationProblem(
  registration: Registration | undefined,
  zk: ZkClient | undefined,
): string | undefined {
  return registration === undefined || zk?.isConnected() !== true ? 'not registered in ZooKeeper' : undefined;
}

/** Registers `data` at `path` (ephemeral, kept across session expiry by core/zookeeper.ts). */
export async function register(zk: ZkClient, path: string, data: object): Promise<Registration> {
  return zk.register(path, JSON.stringify(data));
}
