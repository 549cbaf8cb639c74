// The offer categories of one column as small integer ids, and per requested category the set of
// ids it admits, so a search with a category filter decides an offer by two typed-array reads
// instead of loading the offer's row and comparing strings.
//
// Why: a filtered query reads every candidate its lists and title postings give it while fewer
// than k of them pass, and most of them do not pass: "shoes" in category shoes/boots/work-boots
// at k = 100 over a 500k-offer column read 5,017 bidwords and 11,855 title postings for 236
// entries in the category, 4.8 ms a query, the slowest query of the generated log (BENCHMARKS.md,
// "Afternoon of 2026-12-07").
//
// A request's category C admits an offer category X when X equals C or X starts with C followed
// by "/" (column-index.ts: a category and everything under it). Ids are dense and never
// reused; a category no offer has any more keeps its id (there are a few hundred of them, not
// one per offer).
//
// Concurrency model: single-threaded and synchronous, like IndexState which owns it.

/** Requested categories whose masks are kept; past this the cache starts over (requests are user input). */
const MAX_CACHED_MASKS = 4096;

interface Mask {
  /** 1 at the ids the requested category admits, 0 elsewhere; covers ids below `names.length` at build time. */
  admits: Uint8Array;
  /** How many ids existed when `admits` was last brought up to date. */
  upTo: number;
}

/** Whether the offer category `name` falls under the requested category `requested`. */
export function categoryAdmits(requested: string, name: string): boolean {
  return (
    name === requested ||
    (name.length > requested.length && name.startsWith(requested) && name.charCodeAt(requested.length) === 47) // '/'
  );
}

export class CategoryTable {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly masks = new Map<string, Mask>();

  /** Distinct categories seen so far. */
  get size(): number {
    return this.names.length;
  }

  /** The id of `name`, assigning the next one when it is new. */
  idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  /**
   * Per id, 1 when `requested` admits that category and 0 otherwise. The array is the cache's own
   * (read it, never write it) and valid until the next idOf() that adds a category.
   */
  admits(requested: string): Uint8Array {
    let mask = this.masks.get(requested);
    if (mask === undefined) {
      if (this.masks.size >= MAX_CACHED_MASKS) this.masks.clear();
      mask = { admits: new Uint8Array(Math.max(16, this.names.length)), upTo: 0 };
      this.masks.set(requested, mask);
    }
    const n = this.names.length;
    if (mask.upTo < n) {
      if (mask.admits.length < n) {
        const grown = new Uint8Array(Math.max(n, mask.admits.length * 2));
        grown.set(mask.admits);
        mask.admits = grown;
      }
      for (let id = mask.upTo; id < n; id++)
        mask.admits[id] = categoryAdmits(requested, this.names[id]!) ? 1 : 0;
      mask.upTo = n;
    }
    return mask.admits;
  }
}
