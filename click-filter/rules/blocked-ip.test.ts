import { describe, expect, it } from 'vitest';
import { settingsFromDocument } from '../settings.js';
import { click, settings } from '../testing.js';
import { blockedIp } from './blocked-ip.js';

describe('rule: IP range on the block list', () => {
  const s = settings({}, ['203.0.113.0/24', '2001:db8::/32', '192.0.2.9']);
  it('has reason code "blocked-ip"', () => expect(blockedIp.reason).toBe('blocked-ip'));
  it('rejects an IPv4 address inside a blocked range', () =>
    expect(blockedIp.rejects(click({ ip: '203.0.113.77' }), s)).toBe(true));
  it('accepts the address just outside it', () =>
    expect(blockedIp.rejects(click({ ip: '203.0.114.1' }), s)).toBe(false));
  it('rejects an IPv6 address inside a blocked range', () =>
    expect(blockedIp.rejects(click({ ip: '2001:db8:1::5' }), s)).toBe(true));
  it('treats an IPv4-mapped IPv6 address as its IPv4 address', () =>
    expect(blockedIp.rejects(click({ ip: '::ffff:203.0.113.5' }), s)).toBe(true));
  it('blocks a single listed address', () => {
    expect(blockedIp.rejects(click({ ip: '192.0.2.9' }), s)).toBe(true);
    expect(blockedIp.rejects(click({ ip: '192.0.2.10' }), s)).toBe(false);
  });
  it('ignores an unparsable or unknown client address', () => {
    expect(blockedIp.rejects(click({ ip: '' }), s)).toBe(false);
    expect(blockedIp.rejects(click({ ip: 'not-an-ip' }), s)).toBe(false);
  });
  it('applies a block list replaced at run time', () => {
    const before = settings();
    expect(blockedIp.rejects(click({ ip: '198.51.100.7' }), before)).toBe(false);
    const after = settingsFromDocument(before, '{"blockedCidrs":["198.51.100.0/25"]}', 'zookeeper v1');
    expect(blockedIp.rejects(click({ ip: '198.51.100.7' }), after)).toBe(true);
  });
});
