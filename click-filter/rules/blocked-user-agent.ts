// Rule 7b, reason `blocked-user-agent`: the user agent matches one of the block list's patterns
// (case-insensitive regular expressions kept in ZooKeeper, compiled into one alternation).
import type { ClickRule } from './types.js';

export const blockedUserAgent: ClickRule = {
  reason: 'blocked-user-agent',
  rejects: (click, s) =>
    s.blockList.userAgentRegex !== undefined &&
    click.userAgent !== undefined &&
    s.blockList.userAgentRegex.test(click.userAgent),
};
