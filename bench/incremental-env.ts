// Shared plumbing of the incremental-path benchmarks (bench/freshness.ts,
// bench/dispatch-throughput.ts): ZooKeeper and Kafka (the caller's, or our own in a temp folder),
// `imatch ...` processes that are always stopped by PID at the end (never by name), readiness
// waits, and machine facts for the report. Everything listens on 127.0.0.1.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { downServers, upServers } from '../infra/servers.js';

export const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
}

export class Env {
  readonly procs: Proc[] = [];
  readonly cleanups: Array<() => Promise<void>> = [];
  zk = '';
  kafka = '';
  constructor(readonly tag: string) {}

  say(line: string): void {
    process.stderr.write(`[${this.tag}] ${line}\n`);
  }

  /** Uses the given servers, or starts ZooKeeper and Kafka in a temp folder (stopped in close()). */
  async servers(zk?: string, kafka?: string): Promise<void> {
    if (zk !== undefined && kafka !== undefined) {
      this.zk = zk;
      this.kafka = kafka;
      return;
    }
    const [zkPort, kafkaPort, ctlPort] = [await freePort(), await freePort(), await freePort()];
    const infraDir = await mkdtemp(join(tmpdir(), `imatch-${this.tag}-`));
    this.say(`starting ZooKeeper and Kafka in ${infraDir}`);
    const up = await upServers({
      infraDir,
      cacheDir:
        process.env.IMATCH_INFRA_CACHE_DIR || join(process.env.HOME ?? tmpdir(), '.cache/imatch/infra'),
      zkPort,
      kafkaPort,
      kafkaControllerPort: ctlPort,
      startTimeoutMs: 180_000,
    });
    this.cleanups.push(async () => {
      await downServers(infraDir);
      await rm(infraDir, { recursive: true, force: true });
    });
    this.zk = up.zookeeper.address;
    this.kafka = up.kafka.address;
  }

  run(name: string, args: string[], env: Record<string, string> = {}): Proc {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IMATCH_LOG_PRETTY: '0', ...env },
    });
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString('utf8')).slice(-50_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const proc = { name, child, output: () => out };
    this.procs.push(proc);
    return proc;
  }

  async runToEnd(name: string, args: string[]): Promise<string> {
    const p = this.run(name, args);
    const code = await new Promise<number | null>((ok) => p.child.once('exit', ok));
    if (code !== 0) throw new Error(`${name} failed (${code}):\n${p.output().slice(-4000)}`);
    return p.output();
  }

  /** Waits for a line of the process's output to match; returns the match. */
  async waitOutput(p: Proc, pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = p.output().match(pattern);
      if (m !== null) return m;
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output().slice(-4000)}`);
      await sleep(100);
    }
    throw new Error(`${p.name} did not print ${pattern} in ${timeoutMs} ms:\n${p.output().slice(-4000)}`);
  }

  async waitReady(p: Proc, url: string, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output().slice(-4000)}`);
      try {
        const res = await request(`${url}/readyz`);
        last = await res.body.text();
        if (res.statusCode === 200) return;
      } catch (err) {
        last = String(err);
      }
      await sleep(200);
    }
    throw new Error(`${p.name} not ready after ${timeoutMs} ms: ${last}\n${p.output().slice(-4000)}`);
  }

  /** Stops every process (SIGTERM, SIGKILL after 15 s), then the servers. */
  async close(): Promise<void> {
    for (const p of [...this.procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const gone = new Promise<void>((ok) => p.child.once('exit', () => ok()));
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }
    for (const c of this.cleanups.reverse()) await c().catch((err) => this.say(`cleanup failed: ${err}`));
  }
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export function machine(): { cpus: number; model: string; memGb: number; node: string; loadavg: number[] } {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
