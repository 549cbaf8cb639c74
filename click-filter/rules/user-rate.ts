// Rule 3, reason `user-rate`: more than `userRateMax` clicks from one user within
// `userRateWindowMs`. The user key is the token's client digest (the viewer's IP and user agent,
// authenticated by the blender), or the digest of the clicker's IP and user agent when the token
// has none. Clicks with no user key are not limited here (the IP limit still applies).
import type { RateWindow } from '../state/rate-window.js';
import type { ClickRule } from './types.js';

export function userRate(window: RateWindow): ClickRule {
  return {
    reason: 'user-rate',
    rejects: (click, s) =>
      click.userKey !== '' && window.overLimit(click.userKey, click.nowMs, s.userRateMax, s.userRateWindowMs),
  };
}
