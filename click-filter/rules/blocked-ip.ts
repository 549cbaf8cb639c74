// Rule 7a, reason `blocked-ip`: the client address is in a range on the block list kept in
// ZooKeeper (IPv4 and IPv6 CIDR ranges via ipaddr.js; IPv4-mapped IPv6 addresses count as IPv4).
import { ipBlocked } from '../settings.js';
import type { ClickRule } from './types.js';

export const blockedIp: ClickRule = {
  reason: 'blocked-ip',
  rejects: (click, s) => click.ip !== '' && ipBlocked(s.blockList, click.ip),
};
