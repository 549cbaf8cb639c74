// Where the time goes, from a V8 CPU profile (`node --cpu-prof`): self time per function and per
// area (this project's files, each node_modules package, Node internals, GC, idle).
//   node dist/bench/cpuprofile-top.js <file.cpuprofile> [top=25]
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

function area(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:') || url === '') return 'node internals';
  const own = /\/dist\/(.+?)\/[^/]+\.js$/.exec(url);
  return own ? `imatch ${own[1]}` : url;
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: cpuprofile-top <file.cpuprofile> [top]');
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const total = profile.samples.length;
const byFn = new Map<string, number>();
const byArea = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
  byFn.set(name, (byFn.get(name) ?? 0) + hits);
  const a = area(url, functionName);
  byArea.set(a, (byArea.get(a) ?? 0) + hits);
}
const pct = (h: number) => `${((h / total) * 100).toFixed(1).padStart(5)}%`;
const seconds = (profile.endTime - profile.startTime) / 1e6;
process.stdout.write(`${file}: ${total} samples over ${seconds.toFixed(1)} s\n\nBy area:\n`);
for (const [a, h] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 20))
  process.stdout.write(`${pct(h)}  ${a}\n`);
process.stdout.write('\nTop functions (self time):\n');
for (const [f, h] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, Number(topArg ?? 25))) {
  process.stdout.write(`${pct(h)}  ${f}\n`);
}
