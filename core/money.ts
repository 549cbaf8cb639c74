// Money in integer micros (1 currency unit = 1,000,000 micros). No floating point touches an
// amount: parsing works on the decimal text, rounding on integers.

export const MICROS_PER_UNIT = 1_000_000;
/** The currency's smallest price step by default: 0.01 units. */
export const DEFAULT_STEP_MICROS = 10_000;

/** Smallest multiple of `step` that is >= micros (micros >= 0). */
export function roundUpToStep(micros: number, step: number = DEFAULT_STEP_MICROS): number {
  assertInt(micros, 'micros');
  assertInt(step, 'step');
  if (step <= 0 || micros < 0)
    throw new RangeError(`roundUpToStep needs micros >= 0 and step > 0, got ${micros}, ${step}`);
  const r = micros % step;
  return r === 0 ? micros : micros + (step - r);
}

/** Integer ceil(a / b) for non-negative safe integers, exact. */
export function ceilDiv(a: number, b: number): number {
  assertInt(a, 'a');
  assertInt(b, 'b');
  if (b <= 0 || a < 0) throw new RangeError(`ceilDiv needs a >= 0 and b > 0, got ${a}, ${b}`);
  const q = Math.floor(a / b);
  // a and b are safe integers, so a / b is within one of the true quotient: fix it up exactly.
  let lo = q;
  while (lo * b > a) lo--;
  while ((lo + 1) * b <= a) lo++;
  return lo * b === a ? lo : lo + 1;
}

/** "2.51" -> 2510000. At most 6 decimals; throws on anything else. */
export function parseMoney(text: string): number {
  const m = /^(-)?(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not an amount: ${JSON.stringify(text)}`);
  const units = Number(m[2]);
  const frac = Number((m[3] ?? '').padEnd(6, '0'));
  const micros = units * MICROS_PER_UNIT + frac;
  return m[1] ? -micros : micros;
}

/** 2510000 -> "2.51"; keeps at least two decimals, drops trailing zeros beyond them. */
export function formatMicros(micros: number): string {
  assertInt(micros, 'micros');
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const units = Math.floor(abs / MICROS_PER_UNIT);
  let frac = String(abs % MICROS_PER_UNIT).padStart(6, '0');
  while (frac.length > 2 && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${sign}${units}.${frac}`;
}

function assertInt(n: number, name: string): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name} must be a safe integer of micros, got ${n}`);
}
