// FieldFormatSort: the caller names the SearchHit fields it wants and gets only those. The hits
// are the merger's own (parsed from this query's searcher answers, never shared), so fields not
// asked for are set to undefined in place, which the compiled response serializer skips: no copy
// per hit. A projector is built once per distinct field list and cached (the blender asks the same
// list on every query).
import type { HitField, MergeHit } from '../../core/merge-contract.js';
import { HIT_FIELDS } from '../../core/merge-contract.js';
import type { SearchHit } from '../../core/search-contract.js';

export type Projector = (hits: readonly SearchHit[]) => MergeHit[];

const identity: Projector = (hits) => hits as SearchHit[];
const cache = new Map<string, Projector>();
const MAX_CACHED = 64;

/**
 * A function that leaves only `fields` defined on each hit, in place (all fields: nothing to do).
 * Serialized, a hit then has exactly those fields, in schema order whatever order they were asked in.
 */
export function projector(fields: readonly HitField[] | undefined): Projector {
  if (fields === undefined || fields.length === HIT_FIELDS.length) return identity;
  const key = fields.join(',');
  let project = cache.get(key);
  if (project === undefined) {
    const dropped = HIT_FIELDS.filter((f) => !fields.includes(f));
    project = (hits) => {
      for (const hit of hits) {
        const h = hit as Record<string, unknown>;
        for (const f of dropped) h[f] = undefined;
      }
      return hits as MergeHit[];
    };
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, project);
  }
  return project;
}
