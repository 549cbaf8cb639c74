import { describe, expect, it } from 'vitest';
import { BROWSER_UA, click, settings } from '../testing.js';
import { blockedUserAgent } from './blocked-user-agent.js';

describe('rule: user-agent pattern on the block list', () => {
  const s = settings({}, [], ['ClickFarm/\\d+', 'evil-agent']);
  it('has reason code "blocked-user-agent"', () =>
    expect(blockedUserAgent.reason).toBe('blocked-user-agent'));
  it('rejects a user agent matching a pattern, case-insensitively', () => {
    expect(blockedUserAgent.rejects(click({ userAgent: 'Mozilla/5.0 clickfarm/12' }), s)).toBe(true);
    expect(blockedUserAgent.rejects(click({ userAgent: 'EVIL-AGENT 1.0' }), s)).toBe(true);
  });
  it('accepts other user agents', () =>
    expect(blockedUserAgent.rejects(click({ userAgent: BROWSER_UA }), s)).toBe(false));
  it('does nothing with an empty list', () =>
    expect(blockedUserAgent.rejects(click({ userAgent: 'evil-agent' }), settings())).toBe(false));
});
