// Service processes for end-to-end tests: `spawnImatch(['searcher', '--port', '0', ...])` runs the
// built CLI (`node dist/bin/imatch.js`) as a real process, keeps its output, can wait for a line,
// and is always stopped: at the end of the test that started it (or of the file, when started in
// a beforeAll), and SIGKILLed if the test process exits first.
// Concurrency: every process started here is tracked in one module-level set per test file.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished } from 'vitest';
import { waitFor } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/bin/imatch.js', import.meta.url));

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** What was written to stdout alone so far (a command's printed result, without log lines). */
  stdout(): string;
  /** Waits until the output matches; returns the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  exitCode(): number | string | null;
  /** SIGTERM (or `signal`), then SIGKILL after graceMs; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

export interface SpawnOptions {
  /** Extra environment (added to this process's). */
  env?: Record<string, string>;
  cwd?: string;
  /** Name for messages; default: the first argument. */
  name?: string;
}

const running = new Set<ServiceProcess>();

// One hook per test file: stops whatever a beforeAll started and nobody stopped.
afterAll(async () => {
  await Promise.all([...running].map((p) => p.stop()));
});

process.once('exit', () => {
  for (const p of running) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Spawns `command args` and tracks it for cleanup. */
export function spawnService(command: string, args: string[], options: SpawnOptions = {}): ServiceProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => {
    const text = c.toString('utf8');
    out += text;
    stdout += text;
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  let code: number | string | null = null;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (c, s) => {
      code = c ?? s ?? 'unknown';
      resolve(code);
    });
    child.once('error', (err) => {
      code = `spawn error: ${err.message}`;
      resolve(code);
    });
  });
  const name = options.name ?? args[0] ?? command;
  const proc: ServiceProcess = {
    name,
    pid: child.pid ?? -1,
    child,
    output: () => out,
    stdout: () => stdout,
    exited,
    exitCode: () => code,
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      waitFor(
        () => {
          if (code !== null)
            throw new Error(`${name} exited (${code}) before printing ${pattern}:\n${out.slice(-4000)}`);
          return out.match(pattern) ?? undefined;
        },
        { what: `${name} to print ${pattern}`, timeoutMs },
      ),
    stop: async (signal = 'SIGTERM', graceMs = 10_000) => {
      if (code === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(proc);
      return exited;
    },
  };
  running.add(proc);
  exited.then(() => running.delete(proc));
  try {
    onTestFinished(async () => {
      await proc.stop();
    });
  } catch {
    // Not inside a test (a beforeAll): the file's afterAll stops it.
  }
  return proc;
}

/** Runs the built CLI: `node dist/bin/imatch.js ...args`. */
export function spawnImatch(args: string[], options: SpawnOptions = {}): ServiceProcess {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run "npm run build" before the integration tests`);
  return spawnService(process.execPath, [CLI, ...args], { name: args[0] ?? 'imatch', ...options });
}
