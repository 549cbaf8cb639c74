// Where billing gets the customer entities it sends back through dispatch: the changes topic
// (every customer upsert/delete, with its message id; billing consumes it like a searcher does)
// and, at first start, a BP snapshot's customers.jsonl (rows count as of the snapshot's
// watermark, so any later change wins). Both end up in the ledger's customers table.
//
// Concurrency: the snapshot is read once at start, before consuming.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Ajv } from 'ajv';
import { ImatchError } from '../core/errors.js';
import { Customer, type SnapshotMeta } from '../core/model.js';
import type { LedgerEvent } from './ledger.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validCustomer = ajv.compile(Customer);

export async function readSnapshotCustomers(dir: string): Promise<{ rows: Customer[]; watermark: number }> {
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as SnapshotMeta;
  } catch (err) {
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `--snapshot-dir ${dir}: cannot read snapshot.json: ${(err as Error).message}`,
    );
  }
  const rows: Customer[] = [];
  const lines = createInterface({
    input: createReadStream(join(dir, 'customers.jsonl'), 'utf8'),
    crlfDelay: Infinity,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as unknown;
    if (!validCustomer(row))
      throw new ImatchError(
        'IM_ERR_BAD_ROW',
        `customers.jsonl line ${n}: ${ajv.errorsText(validCustomer.errors)}`,
      );
    rows.push(row);
  }
  return { rows, watermark: meta.watermark };
}

const CUSTOMER_MARK = Buffer.from('"entity":"customer"');

/**
 * The ledger event of one changes-topic record, or undefined for offers and bidwords (skipped
 * without parsing: billing reads the whole topic but needs only customers).
 */
export function customerEventOf(value: Buffer): LedgerEvent | undefined {
  if (value.indexOf(CUSTOMER_MARK) < 0) return undefined;
  const m = JSON.parse(value.toString('utf8')) as {
    entity?: string;
    op?: string;
    id?: number;
    data?: { id?: string };
  };
  if (m.entity !== 'customer' || typeof m.id !== 'number' || typeof m.data?.id !== 'string') return undefined;
  if (m.op === 'delete') return { kind: 'customer', id: m.data.id, entity: null, messageId: m.id };
  if (m.op !== 'upsert' || !validCustomer(m.data)) return undefined;
  return { kind: 'customer', id: m.data.id, entity: m.data as Customer, messageId: m.id };
}
