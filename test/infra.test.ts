// `imatch infra` as a user runs it (the built CLI as a real process), and the start-up failures
// of infra/: bad settings, a port taken by another server, a server that refuses its config.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImatchError } from '../core/errors.js';
import { isPidAlive } from '../infra/process.js';
import { fetchServers, startZooKeeper } from '../infra/servers.js';
import { freePorts, spawnImatch, zkConnect } from './helpers/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'imatch-infra-cli-'));
const env: Record<string, string> = {
  IMATCH_DATA_DIR: dataDir,
  IMATCH_LOG_LEVEL: 'warn',
  IMATCH_INFRA_JVM_ARGS: '-XX:TieredStopAtLevel=1,-XX:+UseSerialGC',
};

afterAll(async () => {
  // Whatever happened above, stop what this file started.
  await spawnImatch(['infra', 'down'], { env }).exited;
  rmSync(dataDir, { recursive: true, force: true });
});

/** PIDs of live processes whose command line mentions `text` (our JVMs name their data folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function run(args: string[], extraEnv: Record<string, string> = {}) {
  const p = spawnImatch(args, { env: { ...env, ...extraEnv } });
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('imatch infra', () => {
  it('a bad setting exits non-zero and names every bad key', async () => {
    const { code, out } = await run(['infra', 'up', '--zk-port', 'abc', '--kafka-port', '99999999']);
    expect(code).toBe(2);
    expect(out).toContain('IM_ERR_CONFIG');
    expect(out).toContain('--zk-port (IMATCH_ZK_PORT)');
    expect(out).toContain('--kafka-port (IMATCH_KAFKA_PORT)');
  });

  it('up starts both servers, status reports them, a second up leaves them alone, down stops exactly them', async () => {
    const [zk, kafka, controller] = (await freePorts(3)).map(String) as [string, string, string];
    const ports = ['--zk-port', zk, '--kafka-port', kafka, '--kafka-controller-port', controller];

    const up = await run(['infra', 'up', ...ports]);
    expect(up.code, up.out).toBe(0);
    expect(up.out).toMatch(new RegExp(`zookeeper 3\\.8\\.\\d+ +started +127\\.0\\.0\\.1:${zk} +pid (\\d+)`));
    expect(up.out).toMatch(new RegExp(`kafka 3\\.9\\.1 +started +127\\.0\\.0\\.1:${kafka} +pid (\\d+)`));
    const zkPid = Number(/zookeeper .* pid (\d+)/.exec(up.out)?.[1]);
    const kafkaPid = Number(/kafka .* pid (\d+)/.exec(up.out)?.[1]);
    expect(isPidAlive(zkPid) && isPidAlive(kafkaPid)).toBe(true);

    const status = await run(['infra', 'status', '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.out) as Array<{
      server: string;
      state: string;
      pid: number;
      answer: string;
    }>;
    expect(parsed.map((s) => [s.server, s.state, s.pid])).toEqual([
      ['zookeeper', 'running', zkPid],
      ['kafka', 'running', kafkaPid],
    ]);
    expect(parsed[0]?.answer).toContain('standalone');
    expect(parsed[1]?.answer).toMatch(/^cluster \S+, 1 broker/);

    const again = await run(['infra', 'up', ...ports]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`already running 127.0.0.1:${zk}`);
    expect(again.out).toContain(`pid ${zkPid}`);

    const down = await run(['infra', 'down']);
    expect(down.code).toBe(0);
    expect(down.out).toContain(`kafka     terminated (pid ${kafkaPid})`);
    expect(down.out).toContain(`zookeeper terminated (pid ${zkPid})`);
    // (a stopped JVM may linger a moment as a zombie until init reaps it: count live command lines)
    expect(processesMentioning(dataDir)).toEqual([]);

    const after = await run(['infra', 'status']);
    expect(after.code).toBe(3);
    expect(after.out).toMatch(/zookeeper +stopped/);
  });

  it('refuses a port where another ZooKeeper already answers, and says so', async () => {
    const otherData = mkdtempSync(join(tmpdir(), 'imatch-infra-busy-'));
    try {
      const busyPort = zkConnect().split(':')[1]!;
      const [kafka, controller] = (await freePorts(2)).map(String) as [string, string];
      const { code, out } = await run(
        ['infra', 'up', '--zk-port', busyPort, '--kafka-port', kafka, '--kafka-controller-port', controller],
        { IMATCH_DATA_DIR: otherData },
      );
      expect(code).toBe(1);
      expect(out).toContain(`port ${busyPort} on 127.0.0.1 is already in use by a ZooKeeper server`);
      // Nothing was started: the taken port is found before either JVM starts.
      const status = await run(['infra', 'status', '--json'], { IMATCH_DATA_DIR: otherData });
      expect((JSON.parse(status.out) as Array<{ state: string }>).map((s) => s.state)).toEqual([
        'stopped',
        'stopped',
      ]);
      expect(processesMentioning(otherData)).toEqual([]);
    } finally {
      await run(['infra', 'down'], { IMATCH_DATA_DIR: otherData });
      rmSync(otherData, { recursive: true, force: true });
    }
  });
});

describe('a server that fails to start', () => {
  it("reports the server's own error and leaves no process behind", async () => {
    const infraDir = mkdtempSync(join(tmpdir(), 'imatch-infra-bad-'));
    try {
      const jars = await fetchServers({
        cacheDir: process.env.IMATCH_INFRA_CACHE_DIR || '~/.cache/imatch/infra',
      });
      const [port] = await freePorts(1);
      const err = await startZooKeeper({
        infraDir,
        jars: jars.zookeeper,
        port: port!,
        overrides: { tickTime: 'abc' },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImatchError);
      expect((err as ImatchError).code).toBe('IM_ERR_INFRA');
      expect((err as ImatchError).message).toContain('zookeeper exited during start-up');
      expect((err as ImatchError).message).toContain('NumberFormatException: For input string: "abc"');
      expect(existsSync(join(infraDir, 'zookeeper', 'state.json'))).toBe(false);
      expect(processesMentioning(infraDir)).toEqual([]);
    } finally {
      rmSync(infraDir, { recursive: true, force: true });
    }
  });
});
