// The title index of text expansion: for each token of the offers' normalized titles, the slots
// (IndexState.slots) of the offers whose title holds it, once each, in one Int32Array arena
// outside the V8 heap (list-arena.ts). It replaces a flexsearch Index, whose per-token arrays and
// per-offer registers were about a quarter of a searcher's heap after the bidwords moved out
// (124k arrays on the generated 100k-offer column), and which the scavenger walked on every
// minor GC (bidword-table.ts says why that matters).
//
// A title is indexed as its normalized form (core/normalize.ts) split on spaces. Removal needs the
// title that was indexed, which the offer record keeps (OfferRec.paddedTitle).
//
// Concurrency model: single-threaded and synchronous, like IndexState which owns it. A postings
// view is valid until the next add().
import { ListArena } from './list-arena.js';

export class TitlePostings {
  private readonly lists = new ListArena();
  private readonly byToken = new Map<string, number>();

  /** Distinct tokens indexed. */
  get tokens(): number {
    return this.byToken.size;
  }

  /** Indexes `slot` under each distinct token of the normalized title `norm`. */
  add(slot: number, norm: string): void {
    for (const token of distinctTokens(norm)) {
      let l = this.byToken.get(token);
      if (l === undefined) {
        l = this.lists.create();
        this.byToken.set(token, l);
      }
      this.lists.push(l, slot);
    }
  }

  /** Takes `slot` out of the postings of each token of `norm` (the title it was added with). */
  remove(slot: number, norm: string): void {
    for (const token of distinctTokens(norm)) {
      const l = this.byToken.get(token);
      if (l !== undefined && this.lists.remove(l, slot) === 'dropped') this.byToken.delete(token);
    }
  }

  /** The slots whose title holds `token` (a view, valid until the next add), or undefined when none. */
  postings(token: string): Int32Array | undefined {
    const l = this.byToken.get(token);
    return l === undefined ? undefined : this.lists.view(l);
  }

  /** Moves every list to the front of the arena with no spare room (after bulk loading). */
  compact(): void {
    this.lists.compact();
  }
}

function distinctTokens(norm: string): string[] {
  const out: string[] = [];
  for (const t of norm.split(' ')) if (t !== '' && !out.includes(t)) out.push(t);
  return out;
}
