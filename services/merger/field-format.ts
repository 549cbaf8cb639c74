// FieldFormatSort and the merger's answer as text. A hit that came in the lines form
// (core/hit-lines.ts) carries its JSON, already limited to the asked fields by the searcher
// (the merger passes `fields` on), and is copied through as is. A hit that came as a JSON object
// (a searcher answering in the JSON form) is projected here: only the asked fields, in schema
// order whatever order they were asked in. Pure functions; hits are never changed.
import type { HitField, MergeResponse } from '../../core/merge-contract.js';
import { HIT_FIELDS } from '../../core/merge-contract.js';
import type { ColumnHit } from './merge.js';

/** One hit as JSON with only `fields` (all when undefined). */
export function hitJson(hit: ColumnHit, fields: readonly HitField[] | undefined): string {
  if (hit.json !== undefined) return hit.json;
  if (fields === undefined) return JSON.stringify(hit);
  const h = hit as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of HIT_FIELDS) if (fields.includes(f) && h[f] !== undefined) out[f] = h[f];
  return JSON.stringify(out);
}

/** The merger's 200 answer (core/merge-contract.ts MergeResponse) as JSON text. */
export function mergeResponseJson(
  hits: readonly ColumnHit[],
  fields: readonly HitField[] | undefined,
  rest: Omit<MergeResponse, 'hits'>,
): string {
  const parts: string[] = ['{"hits":['];
  for (let i = 0; i < hits.length; i++) {
    if (i > 0) parts.push(',');
    parts.push(hitJson(hits[i]!, fields));
  }
  parts.push(']');
  if (rest.lostToBudget !== undefined) parts.push(',"lostToBudget":', JSON.stringify(rest.lostToBudget));
  parts.push(
    `,"coverage":{"columns":${rest.coverage.columns},"answered":${rest.coverage.answered}}`,
    `,"degraded":${rest.degraded},"tookUs":${rest.tookUs}}`,
  );
  return parts.join('');
}
