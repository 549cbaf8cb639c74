// CSV for the report endpoints and `imatch report --csv` (RFC 4180: comma separated, CRLF line
// ends, a field quoted when it holds a comma, quote, CR or LF, quotes doubled). Nested objects
// (invalidByReason) become one column per key, named `parent.key`.
//
// Concurrency: pure functions.

type Cell = string | number | boolean | null | undefined;

function cell(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Flattens one level of nested objects: `{a: {b: 1}}` -> `{'a.b': 1}`. */
export function flatten(row: object): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) out[`${k}.${k2}`] = v2 as Cell;
    else out[k] = v as Cell;
  }
  return out;
}

/** Rows to CSV with a header line; columns are the union of the rows' keys in first-seen order. */
export function toCsv(rows: readonly object[], columns?: readonly string[]): string {
  const flat = rows.map(flatten);
  const cols = columns ? [...columns] : [];
  if (!columns) {
    const seen = new Set<string>();
    for (const r of flat)
      for (const k of Object.keys(r))
        if (!seen.has(k)) {
          seen.add(k);
          cols.push(k);
        }
  }
  const lines = [cols.map(cell).join(',')];
  for (const r of flat) lines.push(cols.map((c) => cell(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
