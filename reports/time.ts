// Report days and hours in the report time zone. The day is billing's own `dayOf` (billing/day.ts),
// on purpose: a click's cost must land on the same day in the report as in the ledger. The hour of
// the day comes from one Intl formatter per zone, cached per 15-minute slot (every zone's offset
// from UTC is a multiple of 15 minutes, so a slot never straddles a local hour or day boundary):
// ingest pays one Map lookup per event instead of an Intl call.
//
// Concurrency: pure functions plus per-zone caches (bounded).
import { dayOf } from '../billing/day.js';

export { checkTimeZone, DAY_PATTERN, dayOf } from '../billing/day.js';

const SLOT_MS = 15 * 60_000;
const MAX_SLOTS = 20_000;

interface Slot {
  day: string;
  hour: number;
}

const hourFormatters = new Map<string, Intl.DateTimeFormat>();
const caches = new Map<string, Map<number, Slot>>();

function hourOf(ms: number, timeZone: string): number {
  let f = hourFormatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' });
    hourFormatters.set(timeZone, f);
  }
  return Number(f.format(ms));
}

/** The report day (`YYYY-MM-DD`) and hour of the day (0-23) of `ms` in `timeZone`. */
export function dayHourOf(ms: number, timeZone: string): Slot {
  let cache = caches.get(timeZone);
  if (cache === undefined) {
    cache = new Map();
    caches.set(timeZone, cache);
  }
  const slot = Math.floor(ms / SLOT_MS);
  let s = cache.get(slot);
  if (s === undefined) {
    if (cache.size >= MAX_SLOTS) cache.clear();
    s = { day: dayOf(ms, timeZone), hour: hourOf(ms, timeZone) };
    cache.set(slot, s);
  }
  return s;
}

/** True when `day` is a real calendar date written `YYYY-MM-DD` (2026-13-45 is not). */
export function isCalendarDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/** `day` plus `n` calendar days (n may be negative). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * The first millisecond of `day` and of the day after, in `timeZone` (every zone is within 14 h
 * of UTC and its offsets are multiples of 15 minutes, so a 15-minute scan finds each midnight).
 */
export function dayBoundsMs(day: string, timeZone: string): { startMs: number; endMs: number } {
  const startOf = (d: string): number => {
    const utc = Date.parse(`${d}T00:00:00Z`);
    for (let ms = utc - 14 * 3_600_000; ms <= utc + 14 * 3_600_000; ms += SLOT_MS)
      if (dayOf(ms, timeZone) === d) return ms;
    return utc;
  };
  return { startMs: startOf(day), endMs: startOf(addDays(day, 1)) };
}
