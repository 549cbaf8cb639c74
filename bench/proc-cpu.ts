// CPU time a process has used (all its threads, user + system), from /proc/<pid>/stat, for the
// benchmarks' per-process CPU figures, and how long ago a process started (a broker minutes old
// still costs more a request). Linux only; NaN when the process is gone.

import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ: the unit of utime and stime in /proc/<pid>/stat

/** CPU time (ms) process `pid` has used so far. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Seconds since process `pid` started (from /proc/<pid>/stat and /proc/uptime); NaN when gone. */
export function ageSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // starttime is field 22, in clock ticks after boot; index 19 after the command name.
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return uptime - startTicks / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}
