// Why the CPUs idle under load: reads `perf sched timehist` output and prints each CPU's idle
// time, its gaps by length, and how much of it some task spent runnable on another CPU
// (bench/sched-overlap.ts). Record while the load runs, then:
//   perf sched record -o sched.data -- sleep 2
//   perf sched timehist -i sched.data > sched.txt
//   node dist/bench/sched-idle.js sched.txt [--names 1234=blender,1235=merger]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseTimehist, schedOverlap } from './sched-overlap.js';

const { values: args, positionals } = parseArgs({
  options: { names: { type: 'string' } },
  allowPositionals: true,
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: sched-idle <timehist.txt> [--names pid=name,...]');
const names = new Map<number, string>();
for (const pair of (args.names ?? '').split(',').filter(Boolean)) {
  const [pid, name] = pair.split('=');
  names.set(Number(pid), name ?? pid!);
}

const o = schedOverlap(parseTimehist(await readFile(file, 'utf8')));
const ms = (x: number) => x.toFixed(1);
const capacity = o.windowMs * o.cpus.length;
const idle = Object.values(o.idleMsByCpu).reduce((a, b) => a + b, 0);
console.log(
  `window ${ms(o.windowMs)} ms on ${o.cpus.length} CPUs: idle ${ms(idle)} ms (${((100 * idle) / capacity).toFixed(1)}%)`,
);
for (const c of o.cpus) console.log(`  CPU ${c}: idle ${ms(o.idleMsByCpu[c]!)} ms`);
console.log('idle gaps by length:');
for (const g of o.gaps)
  console.log(
    `  < ${g.underMs === Number.POSITIVE_INFINITY ? 'inf' : g.underMs} ms: ${g.count} gaps, ${ms(g.ms)} ms`,
  );
console.log(
  `idle while a task waited runnable on another CPU: ${ms(o.idleWithWaitingMs)} ms (${((100 * o.idleWithWaitingMs) / Math.max(idle, 1e-9)).toFixed(1)}% of idle); the rest of it no task waited (the other CPU ran all the work there was)`,
);
console.log('ran on another CPU while a CPU idled, by process (with nothing waiting, the serial stage):');
for (const { pid, ms: r } of o.ranBesideIdleByPid.slice(0, 12))
  console.log(`  ${names.get(pid) ?? pid}: ${ms(r)} ms`);
console.log('waiting that overlapped another CPU idle, by process:');
for (const { pid, ms: w } of o.waitingWhileIdleByPid.slice(0, 12))
  console.log(`  ${names.get(pid) ?? pid}: ${ms(w)} ms`);
