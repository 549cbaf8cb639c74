import { describe, expect, it } from 'vitest';
import { parseTimehist, schedOverlap } from './sched-overlap.js';

// Two CPUs over 10 ms. CPU 1 is idle 0-10 ms. On CPU 0, "node[11/10]" waits runnable 2-6 ms
// (behind "gen[20]", which runs 0-6 ms) and runs 6-8 ms; then CPU 0 idles 8-10 ms with nothing
// waiting anywhere.
const TEXT = `
           time    cpu  task name                       wait time  sch delay   run time
                        [tid/pid]                          (msec)     (msec)     (msec)
--------------- ------  ------------------------------  ---------  ---------  ---------
   100.006000 [0000]  gen[20]                             0.000      0.000      6.000
   100.008000 [0000]  node[11/10]                         0.000      4.000      2.000
   100.010000 [0000]  <idle>                              0.000      0.000      2.000
   100.010000 [0001]  <idle>                              0.000      0.000     10.000
   100.010000 [0001]  VM Thread[30/29]                    0.000      0.000      0.000
`;

describe('sched-overlap', () => {
  it('parses task names with spaces and the process of a thread', () => {
    const rows = parseTimehist(TEXT);
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatchObject({ cpu: 0, task: 'node[11/10]', pid: 10, schedDelayMs: 4, runMs: 2 });
    expect(rows[0]!.pid).toBe(20);
    expect(rows[2]!.task).toBeNull();
    expect(rows[4]).toMatchObject({ task: 'VM Thread[30/29]', pid: 29 });
  });

  it('splits idle time into time with a task waiting elsewhere and the rest', () => {
    const o = schedOverlap(parseTimehist(TEXT));
    expect(o.cpus).toEqual([0, 1]);
    expect(o.windowMs).toBeCloseTo(10, 6);
    expect(o.idleMsByCpu[0]).toBeCloseTo(2, 6);
    expect(o.idleMsByCpu[1]).toBeCloseTo(10, 6);
    // CPU 1 idled 2-6 ms while node waited on CPU 0; CPU 0's idle 8-10 ms had nobody waiting.
    expect(o.idleWithWaitingMs).toBeCloseTo(4, 6);
    expect(o.waitingWhileIdleByPid).toHaveLength(1);
    expect(o.waitingWhileIdleByPid[0]!.pid).toBe(10);
    expect(o.waitingWhileIdleByPid[0]!.ms).toBeCloseTo(4, 6);
    // While CPU 1 idled (0-10 ms), CPU 0 ran gen 0-6 ms and node 6-8 ms.
    expect(o.ranBesideIdleByPid.map((r) => r.pid)).toEqual([20, 10]);
    expect(o.ranBesideIdleByPid[0]!.ms).toBeCloseTo(6, 6);
    expect(o.ranBesideIdleByPid[1]!.ms).toBeCloseTo(2, 6);
    const gaps = Object.fromEntries(o.gaps.map((g) => [g.underMs, g.count]));
    expect(gaps[5]).toBe(1);
    expect(gaps[Number.POSITIVE_INFINITY]).toBe(1);
  });

  it('counts no waiting when the other CPU was busy', () => {
    const busy = TEXT.replace(
      '100.010000 [0001]  <idle>                              0.000      0.000     10.000',
      '100.010000 [0001]  other[40]                           0.000      0.000     10.000',
    );
    const o = schedOverlap(parseTimehist(busy));
    expect(o.idleWithWaitingMs).toBe(0);
    expect(o.waitingWhileIdleByPid).toEqual([]);
  });
});
