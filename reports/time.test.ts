import { describe, expect, it } from 'vitest';
import { addDays, dayHourOf, isCalendarDay } from './time.js';

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
});
