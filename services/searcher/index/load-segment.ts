// Loads one column's segment into a ColumnIndex (implementation follows in the next commit).
import { ImatchError } from '../../../core/errors.js';
import type { ColumnIndex, LoadOptions } from './column-index.js';

/**
 * Loads column `column` of the index version in `versionDir` (the folder holding manifest.json).
 * Verifies the segment's size and SHA-256 (unless opts.verify === false) while parsing.
 * Throws ImatchError IM_ERR_INDEX_MISSING (no such folder, manifest, column or segment file) or
 * IM_ERR_INDEX_CORRUPT (bad manifest, checksum or size mismatch, unparsable or truncated segment).
 */
export async function loadColumnIndex(
  versionDir: string,
  column: number,
  opts: LoadOptions = {},
): Promise<ColumnIndex> {
  void opts;
  throw new ImatchError(
    'IM_ERR_INTERNAL',
    `loadColumnIndex(${versionDir}, ${column}) is not implemented yet`,
  );
}
