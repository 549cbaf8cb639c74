// The data structure of one column index (implementation follows in the next commit).
import { ImatchError } from '../../../core/errors.js';
import type { ColumnIndex, ColumnIndexInput } from './column-index.js';

/** Builds an index directly from entities, with the builder's rules (tests and tools). */
export function createColumnIndex(input: ColumnIndexInput): ColumnIndex {
  void input;
  throw new ImatchError('IM_ERR_INTERNAL', 'createColumnIndex is not implemented yet');
}
