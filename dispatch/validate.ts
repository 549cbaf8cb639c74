// Item-by-item validation of a change batch from the BP. Pure and synchronous: the route calls it
// before anything is reserved or written, so a batch with any bad item is refused whole.
//
// Each item is checked against core/model.ts (the Customer, Offer, Bidword or {id} schema chosen
// by its entity and op, plus bidwordProblem for rules a schema cannot express). Ajv's raw
// errors for a union of literals are noisy ("must be equal to constant" once per allowed value),
// so they are folded into one line per field that says what was allowed.
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  Bidword,
  bidwordProblem,
  type Change,
  Customer,
  DeleteData,
  ENTITIES,
  type Entity,
  Offer,
} from '../core/model.js';

export interface ItemProblem {
  /** Position of the item in the batch, from 0. */
  index: number;
  /** Every problem found in the item, one clause each, joined by "; ". */
  reason: string;
}

export type BatchCheck = { ok: true; changes: Change[] } | { ok: false; problems: ItemProblem[] };

const OPS = ['upsert', 'delete'] as const;
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const strip = (s: TSchema): TSchema => {
  const { $id: _drop, ...rest } = s as TSchema & { $id?: string };
  return rest as TSchema;
};
const upsertValidators: Record<Entity, ValidateFunction> = {
  customer: ajv.compile(strip(Customer)),
  offer: ajv.compile(strip(Offer)),
  bidword: ajv.compile(strip(Bidword)),
};
const deleteValidator = ajv.compile(strip(DeleteData));

/** Validates every item; on any problem returns them all (and no changes). */
export function checkBatch(items: readonly unknown[]): BatchCheck {
  const problems: ItemProblem[] = [];
  const changes: Change[] = [];
  items.forEach((item, index) => {
    const reasons = itemProblems(item);
    if (reasons.length > 0) problems.push({ index, reason: reasons.join('; ') });
    else changes.push(item as Change);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, changes };
}

function itemProblems(item: unknown): string[] {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return ['must be an object {entity, op, data}'];
  }
  const reasons: string[] = [];
  const { entity, op, data, ...extra } = item as Record<string, unknown>;
  for (const key of Object.keys(extra)) reasons.push(`unknown field "${key}"; allowed: entity, op, data`);
  const entityOk = typeof entity === 'string' && (ENTITIES as readonly string[]).includes(entity);
  const opOk = typeof op === 'string' && (OPS as readonly string[]).includes(op);
  if (!entityOk) reasons.push(`entity: got ${show(entity)}; allowed: ${ENTITIES.join(', ')}`);
  if (!opOk) reasons.push(`op: got ${show(op)}; allowed: ${OPS.join(', ')}`);
  if (data === undefined) {
    reasons.push('data: is required');
    return reasons;
  }
  if (!entityOk || !opOk) return reasons;
  const validate = op === 'delete' ? deleteValidator : upsertValidators[entity as Entity];
  if (!validate(data)) {
    reasons.push(...describeErrors(validate.errors ?? [], data));
  } else if (entity === 'bidword' && op === 'upsert') {
    const problem = bidwordProblem(data as Bidword);
    if (problem !== undefined) reasons.push(`data: ${problem}`);
  }
  return reasons;
}

function describeErrors(errors: readonly ErrorObject[], data: unknown): string[] {
  // A failed anyOf (a union of literals) explains itself through its description; the "must be
  // equal to constant" errors of its branches only repeat it.
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath));
  const out: string[] = [];
  for (const e of errors) {
    if ([...unionPaths].some((p) => e.schemaPath !== p && e.schemaPath.startsWith(`${p}/`))) continue;
    const field = `data${e.instancePath.replaceAll('/', '.')}`;
    switch (e.keyword) {
      case 'required':
        out.push(`${field}.${(e.params as { missingProperty: string }).missingProperty}: is required`);
        break;
      case 'additionalProperties':
        out.push(
          `${field}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`,
        );
        break;
      case 'anyOf': {
        const description = (e.parentSchema as { description?: string } | undefined)?.description;
        out.push(`${field}: got ${show(e.data)}; ${description ?? 'not an allowed value'}`);
        break;
      }
      case 'pattern': {
        const description = (e.parentSchema as { description?: string } | undefined)?.description;
        out.push(`${field}: must be ${description ?? e.message ?? 'valid'} (got ${show(e.data)})`);
        break;
      }
      default:
        out.push(`${field}: ${e.message ?? 'is invalid'} (got ${show(e.data ?? data)})`);
    }
  }
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
