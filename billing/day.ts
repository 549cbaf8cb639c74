// Calendar days in the billing time zone: the day a click's spend counts towards, and "today" for
// the budget check. Days are `YYYY-MM-DD` in the configured IANA zone (default UTC), computed with
// Intl (DST-correct); the formatter is built once per zone.
//
// Concurrency: pure functions plus a per-zone formatter cache.
import { Type } from '@sinclair/typebox';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws RangeError for a zone name Intl does not know. */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/** The calendar day of `ms` in `timeZone`, as `YYYY-MM-DD`. */
export function dayOf(ms: number, timeZone: string): string {
  let year = '';
  let month = '';
  let day = '';
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year}-${month}-${day}`;
}

export const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

/** A billing day parameter: `YYYY-MM-DD` and a real calendar date (format "date": no 2026-13-45). */
export const BillingDay = Type.String({
  format: 'date',
  pattern: DAY_PATTERN,
  description: 'Billing day YYYY-MM-DD, a real calendar date (default: today)',
});
