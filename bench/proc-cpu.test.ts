import { describe, expect, it } from 'vitest';
import { ageSecondsOf, cpuMsOf } from './proc-cpu.js';

describe('proc-cpu', () => {
  it("gives this process's age: from exec, so at least Node's own uptime, and not much more", () => {
    const age = ageSecondsOf(process.pid);
    const uptime = process.uptime();
    expect(age).toBeGreaterThanOrEqual(uptime - 0.02); // /proc counts in 10 ms ticks
    expect(age).toBeLessThan(uptime + 5); // exec to Node's start, even on a loaded machine
  });

  it('gives the CPU time this process has used', () => {
    const usage = process.cpuUsage();
    const ms = (usage.user + usage.system) / 1000;
    expect(Math.abs(cpuMsOf(process.pid) - ms)).toBeLessThan(50);
  });

  it('answers NaN for a process that does not exist', () => {
    expect(ageSecondsOf(2 ** 22 + 1)).toBeNaN();
    expect(cpuMsOf(2 ** 22 + 1)).toBeNaN();
  });
});
