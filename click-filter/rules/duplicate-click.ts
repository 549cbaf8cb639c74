// Rule 2, reason `duplicate`: the same click (pv id + position) was already seen by this instance
// within `dedupWindowMs` (whatever that first decision was). Duplicates across instances are the
// hourly correction's job; billing charges a click id once in any case.
import type { DedupWindow } from '../state/dedup-window.js';
import type { ClickRule } from './types.js';

export function duplicateClick(window: DedupWindow): ClickRule {
  return {
    reason: 'duplicate',
    rejects: (click, s) => window.seenWithin(click.clickId, click.nowMs, s.dedupWindowMs),
  };
}
