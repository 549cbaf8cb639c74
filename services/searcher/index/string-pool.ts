// The texts the column's bidwords share (keywords, normalized keywords, broad keys) as small
// integer refs, so the bidword table (bidword-table.ts) holds a ref per field in a typed array
// instead of a pointer per field on a JavaScript object.
//
// Why: a column has about 4.6 bidwords per offer but only one distinct keyword text in ten of
// them (482k keywords, 45k distinct texts on the generated 100k-offer column). Each text is kept
// once, with a count of the fields that refer to it; a text no field refers to any more is
// dropped and its ref reused, so a long stream of changes does not grow the pool.
//
// Concurrency model: single-threaded and synchronous, like IndexState which owns it.

export class StringPool {
  private readonly refs = new Map<string, number>();
  private readonly texts: string[] = [];
  private counts = new Int32Array(1024);
  private readonly free: number[] = [];

  /** Distinct texts held. */
  get size(): number {
    return this.refs.size;
  }

  /** The ref of `text`, counting one more holder (taken with take(), given back with release()). */
  take(text: string): number {
    let ref = this.refs.get(text);
    if (ref === undefined) {
      ref = this.free.pop() ?? this.texts.length;
      if (ref === this.texts.length) this.texts.push(text);
      else this.texts[ref] = text;
      if (ref >= this.counts.length) {
        const grown = new Int32Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
      this.refs.set(text, ref);
    }
    this.counts[ref]!++;
    return ref;
  }

  /** One holder of `ref` less; the text is dropped when none is left. */
  release(ref: number): void {
    const left = --this.counts[ref]!;
    if (left > 0) return;
    if (left < 0) throw new Error(`string pool: ref ${ref} released more often than taken`);
    this.refs.delete(this.texts[ref]!);
    this.texts[ref] = '';
    this.free.push(ref);
  }

  /** The text of a held ref. */
  text(ref: number): string {
    return this.texts[ref]!;
  }
}
