import { describe, expect, it } from 'vitest';
import { click, settings } from '../testing.js';
import { missingUserAgent } from './missing-user-agent.js';

describe('rule: missing user agent', () => {
  it('has reason code "no-user-agent"', () => expect(missingUserAgent.reason).toBe('no-user-agent'));
  it('rejects a click without a User-Agent header', () =>
    expect(missingUserAgent.rejects(click({ userAgent: undefined }), settings())).toBe(true));
  it('rejects an empty or blank user agent', () => {
    expect(missingUserAgent.rejects(click({ userAgent: '' }), settings())).toBe(true);
    expect(missingUserAgent.rejects(click({ userAgent: '   ' }), settings())).toBe(true);
  });
  it('accepts any non-blank user agent', () =>
    expect(missingUserAgent.rejects(click({ userAgent: 'x' }), settings())).toBe(false));
});
