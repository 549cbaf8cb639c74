// Why the CPUs idle while a chain is saturated, from `perf sched timehist` text: how long each CPU
// sat idle, in gaps of what length, and for how much of that idle time some task was runnable and
// waiting on another CPU (the scheduler placed a woken task behind a busy one instead of on the idle
// CPU), and which process ran on the other CPU meanwhile. Idle time with nothing waiting is the
// pipeline's own serial stretches: one process has all the work there is and the others wait for
// its answers. Pure functions; bench/sched-idle.ts is the command line.
//
// A timehist line: `<time s> [<cpu>] <task> <wait ms> <sch delay ms> <run ms>`, where the task ran
// for <run ms> up to <time> after waiting <sch delay ms> runnable; `<idle>` is the CPU's idle task.
// Task names may hold spaces (JVM threads: "VM Thread"); they end in [tid] or [tid/pid].

export interface TimehistRow {
  /** End of the run, seconds. */
  time: number;
  cpu: number;
  /** null for the idle task. */
  task: string | null;
  /** The process: pid of [tid/pid], tid of [tid] (a main thread); null for idle. */
  pid: number | null;
  schedDelayMs: number;
  runMs: number;
}

const LINE = /^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.+?)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$/;
const TASK_ID = /\[(\d+)(?:\/(\d+))?\]$/;

/** The rows of timehist output; header, separator and unparsable lines are skipped. */
export function parseTimehist(text: string): TimehistRow[] {
  const rows: TimehistRow[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const name = m[3]!;
    const idle = name === '<idle>';
    const id = idle ? null : TASK_ID.exec(name);
    rows.push({
      time: Number(m[1]),
      cpu: Number(m[2]),
      task: idle ? null : name,
      pid: id === null || id === undefined ? null : Number(id[2] ?? id[1]),
      schedDelayMs: Number(m[5]),
      runMs: Number(m[6]),
    });
  }
  return rows;
}

export interface GapBucket {
  /** Upper bound of the gap length, ms (Infinity for the last bucket). */
  underMs: number;
  count: number;
  ms: number;
}

export interface SchedOverlap {
  windowMs: number;
  cpus: number[];
  idleMsByCpu: Record<number, number>;
  /** Idle gaps by length. */
  gaps: GapBucket[];
  /** Idle time of a CPU during which some task was runnable, waiting, on another CPU. */
  idleWithWaitingMs: number;
  /** By process (pid), largest first: its waiting time that overlapped another CPU's idle time. */
  waitingWhileIdleByPid: { pid: number; ms: number }[];
  /**
   * By process, largest first: how long it ran on another CPU while a CPU idled. With nothing
   * waiting, that process was all the work there was: the chain's serial stretch.
   */
  ranBesideIdleByPid: { pid: number; ms: number }[];
}

const GAP_BOUNDS = [0.1, 0.5, 1, 5, Number.POSITIVE_INFINITY];

type Interval = [start: number, end: number];

/** Merges intervals (seconds) into a sorted, disjoint list. */
function union(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Length (seconds) of [s, e] covered by a sorted disjoint list. */
function covered(sorted: readonly Interval[], s: number, e: number): number {
  let total = 0;
  for (const [a, b] of sorted) {
    if (a >= e) break;
    if (b <= s) continue;
    total += Math.min(b, e) - Math.max(s, a);
  }
  return total;
}

function byMs(m: Map<number, number>): { pid: number; ms: number }[] {
  return [...m].map(([pid, ms]) => ({ pid, ms })).sort((a, b) => b.ms - a.ms);
}

export function schedOverlap(rows: readonly TimehistRow[]): SchedOverlap {
  const idleByCpu = new Map<number, Interval[]>();
  const waits: { cpu: number; pid: number; from: number; to: number }[] = [];
  const ran: { cpu: number; pid: number; from: number; to: number }[] = [];
  const gaps: GapBucket[] = GAP_BOUNDS.map((underMs) => ({ underMs, count: 0, ms: 0 }));
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    const start = r.time - r.runMs / 1000;
    first = Math.min(first, start);
    last = Math.max(last, r.time);
    if (!idleByCpu.has(r.cpu)) idleByCpu.set(r.cpu, []);
    if (r.task === null) {
      idleByCpu.get(r.cpu)!.push([start, r.time]);
      const bucket = gaps.find((g) => r.runMs < g.underMs)!;
      bucket.count++;
      bucket.ms += r.runMs;
    } else if (r.pid !== null) {
      if (r.runMs > 0) ran.push({ cpu: r.cpu, pid: r.pid, from: start, to: r.time });
      if (r.schedDelayMs > 0)
        waits.push({ cpu: r.cpu, pid: r.pid, from: start - r.schedDelayMs / 1000, to: start });
    }
  }
  const cpus = [...idleByCpu.keys()].sort((a, b) => a - b);
  const elsewhere = (c: number, byCpu: (o: number) => Interval[]) =>
    union(cpus.filter((o) => o !== c).flatMap(byCpu));
  // Idle time of each CPU during which some task waited, runnable, on another one.
  let idleWithWaiting = 0;
  for (const c of cpus) {
    const waiting = elsewhere(c, (o) =>
      waits.filter((w) => w.cpu === o).map((w): Interval => [w.from, w.to]),
    );
    for (const [s, e] of idleByCpu.get(c)!) idleWithWaiting += covered(waiting, s, e);
  }
  // Each process's waiting that another CPU's idle time overlapped (processes waiting at the same
  // moment each count it, so these may add up to more than the total above).
  const byPid = new Map<number, number>();
  const idleOther = new Map(cpus.map((c) => [c, elsewhere(c, (o) => idleByCpu.get(o)!)]));
  for (const w of waits) {
    const s = covered(idleOther.get(w.cpu)!, w.from, w.to);
    if (s > 0) byPid.set(w.pid, (byPid.get(w.pid) ?? 0) + s * 1000);
  }
  const beside = new Map<number, number>();
  for (const r of ran) {
    const s = covered(idleOther.get(r.cpu)!, r.from, r.to);
    if (s > 0) beside.set(r.pid, (beside.get(r.pid) ?? 0) + s * 1000);
  }
  const idleMsByCpu: Record<number, number> = {};
  for (const c of cpus) idleMsByCpu[c] = idleByCpu.get(c)!.reduce((sum, [s, e]) => sum + (e - s) * 1000, 0);
  return {
    windowMs: rows.length === 0 ? 0 : (last - first) * 1000,
    cpus,
    idleMsByCpu,
    gaps,
    idleWithWaitingMs: idleWithWaiting * 1000,
    waitingWhileIdleByPid: byMs(byPid),
    ranBesideIdleByPid: byMs(beside),
  };
}
