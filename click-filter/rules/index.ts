// The rules in their fixed order. The order matters twice: the first rule that rejects names the
// reason, and the stateful rules (duplicate, rate limits) only count clicks that reach them, so an
// expired token never fills a rate window, and a replayed click counts once per window.
//   1 expired  2 duplicate  3 user-rate  4 ip-rate  5 bot  6 no-user-agent
//   7 blocked-ip  8 blocked-user-agent  9 too-fast

import type { DedupWindow } from '../state/dedup-window.js';
import type { RateWindow } from '../state/rate-window.js';
import { blockedIp } from './blocked-ip.js';
import { blockedUserAgent } from './blocked-user-agent.js';
import { botUserAgent } from './bot-user-agent.js';
import { duplicateClick } from './duplicate-click.js';
import { ipRate } from './ip-rate.js';
import { missingUserAgent } from './missing-user-agent.js';
import { tokenExpired } from './token-expired.js';
import { tooFast } from './too-fast.js';
import type { ClickRule } from './types.js';
import { userRate } from './user-rate.js';

export interface RuleState {
  dedup: DedupWindow;
  users: RateWindow;
  ips: RateWindow;
}

export function buildRules(state: RuleState): readonly ClickRule[] {
  return Object.freeze([
    tokenExpired,
    duplicateClick(state.dedup),
    userRate(state.users),
    ipRate(state.ips),
    botUserAgent,
    missingUserAgent,
    blockedIp,
    blockedUserAgent,
    tooFast,
  ]);
}

export type { ClickContext, ClickRule } from './types.js';
