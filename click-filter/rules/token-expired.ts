// Rule 1, reason `expired`: the token was issued longer ago than `tokenMaxAgeMs`. A genuine but
// old link still redirects; it is just not billed (someone replaying an old page, or a bookmark).
import type { ClickRule } from './types.js';

export const tokenExpired: ClickRule = {
  reason: 'expired',
  rejects: (click, s) => click.nowMs - click.token.issuedAtMs > s.tokenMaxAgeMs,
};
