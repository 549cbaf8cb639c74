// Starts the bare chain (node.ts) as real processes: `columns` searchers, one merger, one blender,
// each in its own process like the real query path, and stops them (only the PIDs it started).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE_JS = fileURLToPath(new URL('./node.js', import.meta.url));

export interface ChainProcess {
  role: string;
  url: string;
  child: ChildProcess;
}

export interface RunningChain {
  /** The blender's origin: GET /v1/ads?q=... */
  url: string;
  processes: ChainProcess[];
  stop(): Promise<void>;
}

function startNode(role: string, arg: string, nodeArgs: readonly string[]): Promise<ChainProcess> {
  const child = spawn(process.execPath, [...nodeArgs, NODE_JS, role, arg], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      child.stdout?.off('data', onData);
      resolve({ role, url: (JSON.parse(line) as { url: string }).url, child });
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bare-chain ${role} exited (${code}) before listening`)));
  });
}

async function stopAll(processes: readonly ChainProcess[]): Promise<void> {
  await Promise.all(
    processes.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
          p.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          p.child.kill('SIGTERM');
        }),
    ),
  );
}

export async function startBareChain(
  columns: number,
  nodeArgs: readonly string[] = [],
): Promise<RunningChain> {
  const processes: ChainProcess[] = [];
  try {
    const searchers = await Promise.all(
      Array.from({ length: columns }, (_, c) => startNode('searcher', String(c), nodeArgs)),
    );
    processes.push(...searchers);
    const merger = await startNode('merger', searchers.map((s) => s.url).join(','), nodeArgs);
    processes.push(merger);
    const blender = await startNode('blender', merger.url, nodeArgs);
    processes.push(blender);
    return { url: blender.url, processes, stop: () => stopAll(processes) };
  } catch (err) {
    await stopAll(processes);
    throw err;
  }
}
