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
// Used by `imatch start` (bin/start/start.ts), the compose file and the query-path benchmark.
export const SEARCHER_NODE_FLAGS: readonly string[] = Object.freeze(['--min-semi-space-size=16']);

/** The merger's and the blender's flags (none so far). */
export const FRONT_NODE_FLAGS: readonly string[] = Object.freeze([]);
