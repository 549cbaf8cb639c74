import { describe, expect, it } from 'vitest';
import { addDays, dayBoundsMs, dayHourOf, isCalendarDay } from './time.js';

describe('report days and hours', () => {
  it('gives the day and hour in the report time zone, across midnight and DST', () => {
    expect(dayHourOf(Date.parse('2026-11-20T23:30:00Z'), 'UTC')).toEqual({ day: '2026-11-20', hour: 23 });
    expect(dayHourOf(Date.parse('2026-11-20T23:30:00Z'), 'Asia/Shanghai')).toEqual({
      day: '2026-11-21',
      hour: 7,
    });
    expect(dayHourOf(Date.parse('2026-11-20T18:45:00Z'), 'Asia/Kolkata')).toEqual({
      day: '2026-11-21',
      hour: 0,
    });
    expect(dayHourOf(Date.parse('2026-11-20T18:15:00Z'), 'Asia/Kolkata')).toEqual({
      day: '2026-11-20',
      hour: 23,
    });
    // Europe/Berlin: 2026-03-29 02:00 local does not exist; 01:30 UTC is 03:30 CEST.
    expect(dayHourOf(Date.parse('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toEqual({
      day: '2026-03-29',
      hour: 3,
    });
  });

  it('knows which days are on the calendar', () => {
    expect(isCalendarDay('2026-11-20')).toBe(true);
    expect(isCalendarDay('2028-02-29')).toBe(true);
    expect(isCalendarDay('2026-02-29')).toBe(false);
    expect(isCalendarDay('2026-13-45')).toBe(false);
    expect(isCalendarDay('20261120')).toBe(false);
  });

  it('adds calendar days', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -30)).toBe('2026-01-30');
  });

  it('finds the first and last millisecond of a local day', () => {
    expect(dayBoundsMs('2026-11-20', 'UTC')).toEqual({
      startMs: Date.parse('2026-11-20T00:00:00Z'),
      endMs: Date.parse('2026-11-21T00:00:00Z'),
    });
    expect(dayBoundsMs('2026-11-20', 'Asia/Shanghai').startMs).toBe(Date.parse('2026-11-19T16:00:00Z'));
    // The day DST starts in Berlin has 23 hours.
    const b = dayBoundsMs('2026-03-29', 'Europe/Berlin');
    expect(b.endMs - b.startMs).toBe(23 * 3_600_000);
  });
});
