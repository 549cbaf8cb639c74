// vitest globalSetup of the `integration` project: one real ZooKeeper and one real Kafka (KRaft)
// per test run, on free 127.0.0.1 ports, with their data in a temporary folder; their addresses
// are provided to tests (`inject('zkConnect')`, `inject('kafkaBrokers')`) and both servers are
// stopped in teardown, whether the tests passed or not.
// Set IMATCH_TEST_ZK=host:port and IMATCH_TEST_KAFKA=host:port[,host:port] to reuse running servers
// instead (handy while developing). IMATCH_INFRA_CACHE_DIR chooses the jar cache;
// IMATCH_TEST_KEEP_DATA=1 keeps the servers' data and logs after the run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { downServers, upServers } from '../infra/servers.js';
import { freePorts } from './helpers/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** ZooKeeper connect string of this run's server, `127.0.0.1:<port>`. */
    zkConnect: string;
    /** Kafka bootstrap brokers of this run's server, `['127.0.0.1:<port>']`. */
    kafkaBrokers: string[];
  }
}

const DEFAULT_CACHE = '~/.cache/imatch/infra';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const reuseZk = env.IMATCH_TEST_ZK;
  const reuseKafka = env.IMATCH_TEST_KAFKA;
  if (reuseZk && reuseKafka) {
    project.provide('zkConnect', reuseZk);
    project.provide(
      'kafkaBrokers',
      reuseKafka.split(',').map((s) => s.trim()),
    );
    say(`reusing ZooKeeper ${reuseZk} and Kafka ${reuseKafka} (IMATCH_TEST_ZK / IMATCH_TEST_KAFKA)`);
    return async () => undefined;
  }

  const started = Date.now();
  const infraDir = await mkdtemp(join(tmpdir(), 'imatch-it-'));
  const [zkPort, kafkaPort, controllerPort] = (await freePorts(3)) as [number, number, number];
  // If this process dies without running teardown, do not leave the JVMs behind.
  const pids: number[] = [];
  const killOnExit = () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  let up: Awaited<ReturnType<typeof upServers>>;
  try {
    up = await upServers({
      infraDir,
      cacheDir: env.IMATCH_INFRA_CACHE_DIR || DEFAULT_CACHE,
      zkPort,
      kafkaPort,
      kafkaControllerPort: controllerPort,
      startTimeoutMs: 180_000,
      // Tests need a quick start more than peak JIT code: C1 only, one GC thread.
      jvmArgs: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'],
    });
  } catch (err) {
    process.off('exit', killOnExit);
    say(`could not start the test servers; their data and logs are in ${infraDir}`);
    throw err;
  }
  pids.push(up.zookeeper.pid, up.kafka.pid);
  project.provide('zkConnect', up.zookeeper.address);
  project.provide('kafkaBrokers', [up.kafka.address]);
  say(
    `ZooKeeper ${up.zookeeper.address} (pid ${up.zookeeper.pid}) and Kafka ${up.kafka.address} (pid ${up.kafka.pid}) ` +
      `ready in ${Date.now() - started} ms; data in ${infraDir}`,
  );

  return async () => {
    const t = Date.now();
    await downServers(infraDir);
    process.off('exit', killOnExit);
    if (env.IMATCH_TEST_KEEP_DATA === '1')
      say(`servers stopped in ${Date.now() - t} ms; data kept in ${infraDir}`);
    else {
      await rm(infraDir, { recursive: true, force: true });
      say(`servers stopped in ${Date.now() - t} ms`);
    }
  };
}

function say(line: string): void {
  process.stderr.write(`[integration infra] ${line}\n`);
}
