// Runs the engine's services as child processes for `imatch start`: spawns each with its own log
// file, waits until its /readyz answers 200 (or it exits, which is an error with the tail of its
// log), and stops them all in reverse order on shutdown (SIGTERM, then SIGKILL after a grace
// period). One supervisor per `imatch start`; all methods are called from the main thread.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Logger } from '../../core/logger.js';

export interface ChildSpec {
  name: string;
  /** Arguments after `node`, e.g. [cliPath, 'searcher', '--column', '0']. */
  args: string[];
  /** Base URL whose /readyz must answer 200 before the service counts as started. */
  url?: string;
  env?: Record<string, string>;
}

interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  logPath: string;
  exited: boolean;
}

export class Supervisor {
  readonly #children: Running[] = [];
  readonly #logDir: string;
  readonly #log: Logger;
  #stopping = false;

  constructor(logDir: string, log: Logger) {
    this.#logDir = logDir;
    this.#log = log;
  }

  get children(): readonly { name: string; pid: number | undefined; url: string | undefined }[] {
    return this.#children.map((r) => ({ name: r.spec.name, pid: r.child.pid, url: r.spec.url }));
  }

  async start(spec: ChildSpec, readyTimeoutMs = 120_000): Promise<void> {
    await mkdir(this.#logDir, { recursive: true });
    const logPath = join(this.#logDir, `${spec.name}.log`);
    const out = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(process.execPath, spec.args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const running: Running = { spec, child, logPath, exited: false };
    this.#children.push(running);
    child.once('exit', (code, signal) => {
      running.exited = true;
      if (!this.#stopping) this.#log.error({ service: spec.name, code, signal, logPath }, 'service exited');
    });
    if (spec.url === undefined) return;
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (running.exited)
        throw new Error(`${spec.name} exited during start; last log lines:\n${tail(logPath)}`);
      if (await isReady(spec.url)) {
        this.#log.info({ service: spec.name, url: spec.url, pid: child.pid }, 'ready');
        return;
      }
      await sleep(200);
    }
    throw new Error(`${spec.name} not ready after ${readyTimeoutMs} ms; last log lines:\n${tail(logPath)}`);
  }

  /** Stops every child, newest first: SIGTERM, then SIGKILL after graceMs. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    for (const r of [...this.#children].reverse()) {
      if (r.exited) continue;
      r.child.kill('SIGTERM');
      const done = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
      const killed = await Promise.race([done.then(() => false), sleep(graceMs).then(() => true)]);
      if (killed && !r.exited) {
        this.#log.warn({ service: r.spec.name }, 'did not stop in time; SIGKILL');
        r.child.kill('SIGKILL');
        await done;
      }
    }
  }
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** The last lines of a log file, for error messages. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
