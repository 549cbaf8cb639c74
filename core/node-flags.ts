// Node/V8 flags a service process is started with, where the default heap sizing costs latency.
//
// Searchers: V8 shrinks the young generation while a process is idle and grows it back slowly
// under load, so a searcher that was quiet for a minute scavenges (minor GC) several times more
// often, with pauses over 10 ms, once traffic returns: 241-284 scavenges in 15 s at half of peak
// after an idle minute against 47-49 with a young generation of at least 16 MB a semi-space
// (BENCHMARKS.md, "Re-measured 2026-12-06 (issue 11)"), and the query path's p99 at half of peak
// 47-48 ms against 28-30 ms. The flag only sets a floor; V8 still grows the young generation
// beyond it under load. It must be on the node command line: V8 reads it when the heap is set up
// (NODE_OPTIONS does not accept it, and setting it at run time has no effect).
//
// Used by `imatch start` (bin/start/start.ts), the compose file, the query-path and click-filter benchmarks.
//
// And no memory reducer: when a process's allocation rate drops, V8's memory reducer starts a full
// GC to shrink the heap. A searcher's heap is its index, hundreds of MB that shrinking cannot
// free, and the full GC stalls it: in process, a 100k-offer column queried at a steady pace ran a
// memory-reducer full GC about 100 s in with a 472 ms pause (none in 150 s without it); in the
// query-path bench (--baseline, the same build both sides), both searchers with the reducer ran
// one full GC each (75 and 103 ms pauses, 144 s), both without it none (BENCHMARKS.md, "Morning
// of 2026-12-07"). The heap is still collected when it reaches V8's limits.
export const SEARCHER_NODE_FLAGS: readonly string[] = Object.freeze([
  '--min-semi-space-size=16',
  '--no-memory-reducer',
]);

// Merger and blender: the same young-generation floor as searchers (after the idle minute of the
// benchmark's bare-chain ramp, the merger ran 187-197 scavenges in 15 s at half of peak against
// 63-78 without the idle stretch, BENCHMARKS.md "Evening of 2026-12-06"), and the old generation's
// initial limit at 128 MB: their live heap is small (about 20-30 MB) and V8 sets the next full-GC
// limit only a few MB above it, so under steady traffic (page-view batches and in-flight requests
// promoted out of the young generation) the blender ran a full GC every 1-3 s with 5-14 ms pauses
// at half of peak: 8 in 15 s, 3 of them over 10 ms; with the flag 1 in 15 s. Past 128 MB the limit
// grows as usual; the flag costs up to ~100 MB more resident memory.
// The click filter takes the same two: its dedup and rate windows grow its live heap for its
// first minutes under traffic (to about 185 MB at 5,000 clicks/s, once the dedup window holds its
// 500,000 clicks), and under the default limit every step of that growth was a full GC: 3-9 full
// GCs in 25 s at 5,000 clicks/s, each holding clicks for 50-70 ms; with the flags, 1.
export const FRONT_NODE_FLAGS: readonly string[] = Object.freeze([
  '--min-semi-space-size=16',
  '--initial-old-space-size=128',
]);

// The click filter: FRONT_NODE_FLAGS, and one V8 worker thread instead of four. A full GC's
// concurrent marking ran on up to four threads, which on two cores took the CPU from the
// filter's own event loop for tens of milliseconds: at 5,000 clicks/s the clicks during the one
// full GC of a 25 s run waited up to 43-70 ms; with one worker thread, 18-30 ms, and p99 5.0-5.3
// against 5.2-7.2 ms (BENCHMARKS.md, "Night of 2026-12-08"). The query path's blender and merger
// showed no difference either way, so they keep the default.
export const CLICK_FILTER_NODE_FLAGS: readonly string[] = Object.freeze([
  ...FRONT_NODE_FLAGS,
  '--v8-pool-size=1',
]);
