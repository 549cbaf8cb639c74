// Rule 4, reason `ip-rate`: more than `ipRateMax` clicks from one client address within
// `ipRateWindowMs` (set it higher than the user limit: many users share an address behind NAT).
import type { RateWindow } from '../state/rate-window.js';
import type { ClickRule } from './types.js';

export function ipRate(window: RateWindow): ClickRule {
  return {
    reason: 'ip-rate',
    rejects: (click, s) =>
      click.ip !== '' && window.overLimit(click.ip, click.nowMs, s.ipRateMax, s.ipRateWindowMs),
  };
}
