// The hour a correction run covers: `YYYY-MM-DDTHH`, always UTC (Kafka timestamps are UTC
// milliseconds; billing days may use another zone, hours do not need to).

export const HOUR_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}$';

export interface Hour {
  label: string;
  startMs: number;
  endMs: number;
}

/** Parses `2026-11-22T13` (UTC); throws RangeError on anything else. */
export function parseHour(label: string): Hour {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/.exec(label);
  if (!m) throw new RangeError(`an hour is YYYY-MM-DDTHH (UTC), got ${JSON.stringify(label)}`);
  const [y, mo, d, h] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  const startMs = Date.UTC(y, mo - 1, d, h);
  const back = new Date(startMs);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h
  )
    throw new RangeError(`no such hour: ${label}`);
  return { label, startMs, endMs: startMs + 3_600_000 };
}

/** The hour containing `ms`. */
export function hourOf(ms: number): Hour {
  const startMs = Math.floor(ms / 3_600_000) * 3_600_000;
  return { label: new Date(startMs).toISOString().slice(0, 13), startMs, endMs: startMs + 3_600_000 };
}
