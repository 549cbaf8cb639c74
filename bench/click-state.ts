// Benchmark: the click filter's in-memory windows (click-filter/state) at full capacity, in
// process: the dedup window at its default 500,000 clicks with 1.2M distinct clicks recorded (so
// it fills, then drops its oldest click on every new one), and a rate window at its default
// 200,000 keys with 2M attempts cycling over 150,000 keys (never full) and over 250,000 keys (full:
// every new key drops the idlest). Prints the mean time a call and the longest call (a GC pause
// lands in some call, so run with --trace-gc to tell them apart). No servers.
//
//   npm run build && node dist/bench/click-state.js
import { loadavg } from 'node:os';
import { DedupWindow } from '../click-filter/state/dedup-window.js';
import { RateWindow } from '../click-filter/state/rate-window.js';

interface Figures {
  calls: number;
  meanUs: number;
  maxMs: number;
  over2ms: number;
}

function time(calls: number, call: (i: number) => void): Figures {
  let max = 0;
  let over2ms = 0;
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    call(i);
    const d = performance.now() - s;
    if (d > max) max = d;
    if (d > 2) over2ms++;
  }
  const total = performance.now() - started;
  return { calls, meanUs: (total * 1000) / calls, maxMs: max, over2ms };
}

const before = loadavg().map((l) => l.toFixed(2));
const dedup = new DedupWindow(500_000);
// Eight clicks a millisecond: 1.2M clicks span 150 s, well inside the 600 s window.
const d = time(1_200_000, (i) => {
  dedup.seenWithin(`c${i.toString(36).padStart(21, 'x')}`, 1_000_000 + (i >> 3), 600_000);
});
const rate = (keys: number): Figures => {
  const w = new RateWindow(200_000);
  return time(2_000_000, (i) => {
    w.overLimit(`10.${(i * 7919) % keys}`, 1_000_000 + (i >> 3), 30, 60_000);
  });
};
const r150 = rate(150_000);
const r250 = rate(250_000);
const line = (name: string, f: Figures) =>
  `| ${name} | ${f.calls.toLocaleString('en-US')} | ${f.meanUs.toFixed(2)} | ${f.maxMs.toFixed(1)} | ${f.over2ms} |`;
console.log('| window | calls | mean us a call | longest call ms | calls over 2 ms |');
console.log('|---|---|---|---|---|');
console.log(line('dedup, 500k max, 1.2M distinct clicks', d));
console.log(line('rate, 200k max, 150k keys', r150));
console.log(line('rate, 200k max, 250k keys (evicting)', r250));
console.log(
  `Node ${process.version}; load average before ${before.join(' ')}, after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${new Date().toISOString()}`,
);
