// Splitting the filter's big Maps into shards, so no single Map grows large. A JavaScript Map
// (V8's OrderedHashMap) grows by rehashing the whole table at once, and a Map with deletions is
// rehashed whole when its deleted slots fill up. Measured on this machine (Node 20, 22-character
// keys): growing past 262,144 entries held the event loop for 22 ms, past 524,288 for 28 ms,
// past 1,048,576 for 79 ms; a 65,536-key Map touched by delete + set rehashed every 65,536
// touches, 2.5-3.8 ms each. The dedup window holds up to 500,000 clicks and each rate window up
// to 200,000 keys (config.ts), and a full window deletes as fast as it inserts, so each such
// pause would hold every click waiting behind it. With SHARDS Maps each holds about 1/SHARDS of
// the entries, and each pause is that much shorter.
//
// Concurrency: pure functions.

/** Shards per window: a power of two. */
export const SHARDS = 16;

/** The shard of a key: a 31-multiplier string hash, low bits. */
export function shardOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return (h ^ (h >>> 16)) & (SHARDS - 1);
}

export function newShards<V>(): Map<string, V>[] {
  return Array.from({ length: SHARDS }, () => new Map<string, V>());
}
