import { describe, expect, it } from 'vitest';
import { checkTimeZone, dayOf } from './day.js';

describe('billing days', () => {
  const t = Date.UTC(2026, 10, 22, 23, 30); // 2026-11-22 23:30 UTC
  it('is the UTC date in UTC', () => expect(dayOf(t, 'UTC')).toBe('2026-11-22'));
  it('is already the next day east of UTC', () => expect(dayOf(t, 'Asia/Shanghai')).toBe('2026-11-23'));
  it('is still the same day west of UTC', () => expect(dayOf(t, 'America/Los_Angeles')).toBe('2026-11-22'));
  it('follows daylight saving time', () => {
    // 2026-03-29 00:30 UTC is 01:30 in London (still GMT) on the 29th; 23:30 UTC on the 29th is 00:30 BST on the 30th.
    expect(dayOf(Date.UTC(2026, 2, 29, 23, 30), 'Europe/London')).toBe('2026-03-30');
    expect(dayOf(Date.UTC(2026, 2, 28, 23, 30), 'Europe/London')).toBe('2026-03-28');
  });
  it('refuses an unknown zone', () => expect(() => checkTimeZone('Mars/Olympus')).toThrow(RangeError));
});
