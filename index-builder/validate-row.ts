// Row validation for the build: every snapshot row is checked against the core/model.ts schema
// (Ajv, compiled once) and, for bidwords, bidwordProblem(). A problem comes back as a short
// `reason` (stable, no ids or values: used to count skipped rows by reason) and a `detail` for
// the report. Pure; no state besides the compiled validators.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Bidword, bidwordProblem, Customer, Offer } from '../core/model.js';

export type RowKind = 'customer' | 'offer' | 'bidword';

export type RowResult<T> = { ok: true; row: T } | { ok: false; reason: string; detail: string };

// allErrors so that a bad value of a union (status, matchType) reports the union, not one branch.
// unicodeRegExp off: the model's patterns are ASCII classes (and \s), which mean the same without
// the u flag, and non-unicode regexps are markedly faster on millions of rows.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, unicodeRegExp: false });
const validators: {
  customer: ValidateFunction<Customer>;
  offer: ValidateFunction<Offer>;
  bidword: ValidateFunction<Bidword>;
} = {
  customer: ajv.compile<Customer>(Customer),
  offer: ajv.compile<Offer>(Offer),
  bidword: ajv.compile<Bidword>(Bidword),
};

function describe(
  kind: RowKind,
  e: ErrorObject | undefined,
  value: unknown,
): { reason: string; detail: string } {
  if (e === undefined) return { reason: `${kind}: invalid`, detail: `${kind} is invalid` };
  let where = e.instancePath || '/';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    where = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
    message = 'is required';
  } else if (e.keyword === 'anyOf') {
    message = 'is not an allowed value';
  } else if (e.keyword === 'additionalProperties') {
    where = `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
    message = 'is not allowed';
  }
  const reason = `${kind} ${where} ${message}`;
  let got = '';
  if (e.keyword !== 'required' && e.instancePath !== '') {
    let v: unknown = value;
    for (const part of e.instancePath.split('/').slice(1))
      v = (v as Record<string, unknown> | undefined)?.[part];
    const text = JSON.stringify(v);
    if (text !== undefined) got = ` (got ${text.length > 80 ? `${text.slice(0, 77)}...` : text})`;
  }
  // The union schemas (status, matchType) describe what is allowed in their description.
  const allowed = (e.parentSchema as { description?: string } | undefined)?.description;
  const hint = e.keyword === 'anyOf' && allowed?.includes('Allowed:') ? `: ${allowed}` : '';
  return { reason, detail: `${reason}${got}${hint}` };
}

/** Parses and validates one JSON line of the given kind. */
export function validateLine<K extends RowKind>(
  kind: K,
  text: string,
): RowResult<K extends 'customer' ? Customer : K extends 'offer' ? Offer : Bidword> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${kind}: not valid JSON`, detail: `${kind}: not valid JSON` };
  }
  const validate = validators[kind] as ValidateFunction;
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    const first =
      errors.find((e) => e.keyword === 'anyOf' && e.instancePath === errors[0]?.instancePath) ?? errors[0];
    return { ok: false, ...describe(kind, first, value) };
  }
  if (kind === 'bidword') {
    const problem = bidwordProblem(value as Bidword);
    if (problem !== undefined) {
      const negative = (value as Bidword).matchType.startsWith('negative');
      const reason = negative
        ? 'bidword: negative keyword carries bidMicros'
        : 'bidword: positive bidword lacks bidMicros';
      return { ok: false, reason, detail: problem };
    }
  }
  return { ok: true, row: value } as RowResult<
    K extends 'customer' ? Customer : K extends 'offer' ? Offer : Bidword
  >;
}
