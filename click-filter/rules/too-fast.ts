// Rule 8, reason `too-fast`: the click came sooner than `minDelayAfterPvMs` after its page view
// (the token's issued-at time). A person needs a moment to read a result; a script does not. A
// token issued "in the future" (clock skew between blender and filter) counts as too fast.
import type { ClickRule } from './types.js';

export const tooFast: ClickRule = {
  reason: 'too-fast',
  rejects: (click, s) =>
    s.minDelayAfterPvMs > 0 && click.nowMs - click.token.issuedAtMs < s.minDelayAfterPvMs,
};
