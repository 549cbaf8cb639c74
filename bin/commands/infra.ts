// `imatch infra fetch|up|down|status`: the local Apache ZooKeeper and Apache Kafka (KRaft) that
// the engine and the integration tests run against. Settings come from flags and IMATCH_*
// variables (core/config.ts); the work is done by infra/servers.ts. Results go to stdout, logs to
// stderr. Exit codes: 0 ok, 1 failure, 2 bad settings, 3 (`status`) a server is not running.
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { addConfigOptions, CommonSettings, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import {
  downServers,
  fetchServers,
  infraStatus,
  type RunningServer,
  type ServerStatus,
  upServers,
} from '../../infra/servers.js';
import { expandPath, InfraSettings, infraDirOf } from '../../infra/settings.js';

const FetchConfig = Type.Object({
  logLevel: CommonSettings.logLevel,
  infraCacheDir: InfraSettings.infraCacheDir,
});
const UpConfig = Type.Object({ ...CommonSettings, ...InfraSettings });
const DownConfig = Type.Object({ ...CommonSettings });
const StatusConfig = Type.Object({
  ...CommonSettings,
  json: Type.Boolean({ default: false, description: 'Print the status as JSON' }),
});

export function register(program: Command): void {
  const infra = program
    .command('infra')
    .description('Fetch, start, check and stop the local ZooKeeper and Kafka (KRaft) servers');

  addConfigOptions(
    infra.command('fetch').description('Download the server jars from Maven Central into the cache (once)'),
    FetchConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(FetchConfig, { flags, env: process.env });
    const log = cliLogger(config.logLevel);
    const started = Date.now();
    const jars = await fetchServers({ cacheDir: config.infraCacheDir, log });
    for (const j of Object.values(jars)) {
      process.stdout.write(
        `${j.server} ${j.version}: ${j.jarCount} jars in ${j.libDir}${j.fromCache ? ' (cached)' : ''}\n`,
      );
    }
    process.stdout.write(`fetch took ${Date.now() - started} ms\n`);
  });

  addConfigOptions(
    infra
      .command('up')
      .description(
        'Start ZooKeeper and Kafka on 127.0.0.1 and wait until both answer (no-op when already up)',
      ),
    UpConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(UpConfig, { flags, env: process.env });
    const log = cliLogger(config.logLevel);
    const started = Date.now();
    const up = await upServers({
      infraDir: infraDirOf(config.dataDir),
      cacheDir: config.infraCacheDir,
      zkPort: config.zkPort,
      kafkaPort: config.kafkaPort,
      kafkaControllerPort: config.kafkaControllerPort,
      zkHeap: config.zkHeap,
      kafkaHeap: config.kafkaHeap,
      startTimeoutMs: config.infraStartTimeoutMs,
      jvmArgs: [...config.infraJvmArgs],
      log,
    });
    process.stdout.write(`${line(up.zookeeper)}\n${line(up.kafka)}\n`);
    process.stdout.write(`up took ${Date.now() - started} ms\n`);
    process.stdout.write(
      `export IMATCH_ZK_CONNECT=${up.zookeeper.address} IMATCH_KAFKA_BROKERS=${up.kafka.address}\n`,
    );
  });

  addConfigOptions(
    infra
      .command('down')
      .description('Stop the servers that `imatch infra up` started from this data folder'),
    DownConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(DownConfig, { flags, env: process.env });
    const log = cliLogger(config.logLevel);
    for (const r of await downServers(infraDirOf(config.dataDir), log)) {
      const what = r.result === 'not-running' ? 'was not running' : `${r.result} (pid ${r.pid})`;
      process.stdout.write(`${r.server.padEnd(9)} ${what}\n`);
    }
  });

  addConfigOptions(
    infra
      .command('status')
      .description('Show whether the servers of this data folder run and answer (exit 3 if not)'),
    StatusConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(StatusConfig, { flags, env: process.env });
    const statuses = await infraStatus(infraDirOf(config.dataDir));
    if (config.json) {
      process.stdout.write(
        `${JSON.stringify(
          statuses.map(({ record: _, ...s }) => s),
          null,
          2,
        )}\n`,
      );
    } else {
      process.stdout.write(`data: ${infraDirOf(config.dataDir)}\n`);
      for (const s of statuses) process.stdout.write(`${statusLine(s)}\n`);
    }
    if (statuses.some((s) => s.state !== 'running')) process.exitCode = 3;
  });
}

// Logs go to stderr so stdout carries only results.
function cliLogger(level: string) {
  return createLogger({ name: 'imatch-infra', level: level as LevelWithSilent, fd: 2 });
}

function line(s: RunningServer): string {
  const how = s.alreadyRunning ? 'already running' : 'started';
  return `${`${s.server} ${s.version}`.padEnd(16)} ${how.padEnd(15)} ${s.address.padEnd(16)} pid ${String(s.pid).padEnd(8)} log ${s.logFile}`;
}

function statusLine(s: ServerStatus): string {
  const version = s.record?.version ?? '';
  const head = `${`${s.server} ${version}`.trim().padEnd(16)} ${s.state.padEnd(8)}`;
  if (s.state === 'stopped') return `${head} log ${expandPath(s.logFile)}`;
  return `${head} ${String(s.address).padEnd(16)} pid ${String(s.pid).padEnd(8)} ${s.answer ?? 'not answering'}`;
}
