// Server processes: spawn a JVM detached with its output in a log file, tell whether a recorded PID
// is still that server (not a recycled PID), stop it (SIGTERM, then SIGKILL after a grace), and
// read the tail of its log for error messages.
// Concurrency: every function is a plain async call; callers own the PIDs they pass in. Nothing
// here kills by name: a PID is signalled only when its command line still carries the marker
// (a config file path unique to the data folder) recorded when it was started.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnedServer {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** True once the process has ended. */
  hasExited(): boolean;
}

/**
 * Starts `java args...` detached (its own process group, so a Ctrl-C in the caller's terminal
 * does not reach it and `imatch infra up` can return), stdout and stderr appended to logFile.
 * The previous log, if any, is kept as `<logFile>.1`. `launcher` runs java through a command that
 * execs it (e.g. `ip netns exec <ns>`: the PID stays the JVM's, so markers still match).
 */
export function spawnJava(
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
  launcher: readonly string[] = [],
): SpawnedServer {
  if (existsSync(logFile) && statSync(logFile).size > 0) renameSync(logFile, `${logFile}.1`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    const argv = [...launcher, 'java', ...args];
    child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  child.unref();
  if (child.pid === undefined) {
    // spawn failed synchronously (java not on PATH): 'error' follows on the next tick.
    return { pid: -1, child, exited, hasExited: () => true };
  }
  return { pid: child.pid, child, exited, hasExited: () => done };
}

/** The process's command line (NUL-separated args joined by spaces), or null when it is gone. */
export function commandLineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    if (process.platform === 'linux') return null;
    // No /proc: fall back to "alive or not" and trust the recorded PID.
    return isPidAlive(pid) ? '' : null;
  }
}

export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and still the process started with `marker` on its command line. */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!isPidAlive(pid)) return false;
  const cmd = commandLineOf(pid);
  if (cmd === null) return false;
  if (cmd === '' && process.platform !== 'linux') return true;
  // A zombie has an empty cmdline: it is dead for our purposes.
  return cmd.includes(marker);
}

/**
 * SIGTERM, wait up to graceMs, then SIGKILL and wait for the process to go away. Returns how it
 * ended: 'not-running' (nothing to do), 'terminated' or 'killed'.
 */
export async function stopProcess(
  pid: number,
  marker: string,
  graceMs: number,
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!isOurProcess(pid, marker)) return 'not-running';
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, marker, graceMs)) return 'terminated';
  signal(pid, 'SIGKILL');
  await waitGone(pid, marker, 10_000);
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitGone(pid: number, marker: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, marker)) return true;
    await sleep(50);
  }
  return !isOurProcess(pid, marker);
}

/** The last `lines` lines of a log file ('' when it does not exist). Reads at most 64 KiB. */
export async function tailFile(path: string, lines = 40): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/**
 * The most telling lines of a server log for an error report: the lines that name an error or an
 * exception (the server's own message), else the plain tail.
 */
export async function errorExcerpt(path: string, lines = 25): Promise<string> {
  const all = (await tailFile(path, 400)).split('\n');
  const errors = all.filter((line) =>
    /\b(ERROR|FATAL|Exception|Error:|Caused by|exiting abnormally|Invalid config)/.test(line),
  );
  return (errors.length > 0 ? errors : all).slice(-lines).join('\n');
}
