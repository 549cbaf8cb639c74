// FieldFormatSort: the caller names the SearchHit fields it wants and gets only those. A
// projector is built once per distinct field list and cached (the blender asks the same list on
// every query); projecting allocates one small object per hit and nothing else.
import type { HitField, MergeHit } from '../../core/merge-contract.js';
import { HIT_FIELDS } from '../../core/merge-contract.js';
import type { SearchHit } from '../../core/search-contract.js';

export type Projector = (hits: readonly SearchHit[]) => MergeHit[];

const identity: Projector = (hits) => hits as SearchHit[];
const cache = new Map<string, Projector>();
const MAX_CACHED = 64;

/** A function that keeps only `fields` of each hit (all fields: the hits themselves, no copy). */
export function projector(fields: readonly HitField[] | undefined): Projector {
  if (fields === undefined || fields.length === HIT_FIELDS.length) return identity;
  const key = fields.join(',');
  let project = cache.get(key);
  if (project === undefined) {
    // Schema order, so the answer does not depend on the order the caller listed the fields in.
    const wanted = HIT_FIELDS.filter((f) => fields.includes(f));
    project = (hits) => {
      const out: MergeHit[] = new Array(hits.length);
      for (let i = 0; i < hits.length; i++) {
        const hit = hits[i]!;
        const o: Record<string, unknown> = {};
        for (const f of wanted) o[f] = hit[f];
        out[i] = o as MergeHit;
      }
      return out;
    };
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, project);
  }
  return project;
}
