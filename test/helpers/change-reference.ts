// The reference for incremental-update tests, written independently of the index code: the BP's
// tables (customers, offers, bidwords) as a snapshot holds them, changed by acknowledged change
// messages applied in id order, and projected onto one column the way docs/index-format.md
// describes a column's content (ColumnIndex.dump()):
//   - customers: all of them, any status, sorted by id;
//   - offers: those with columnOf(offer id) = the column, online or offline, sorted by id, each
//     with its online bidwords and negative keywords sorted by id;
//   - pendingBidwords: online bidwords of the column (by their offerId) whose offer is absent;
//   - offline bidwords are not kept (a bidword upsert with status offline removes it).
// It can also write its state as a new BP snapshot folder (for a full build "taken" at a
// watermark while changes flow).
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Bidword, ChangeMessage, Customer, Offer } from '../../core/model.js';
import { columnOf } from '../../core/partition.js';

export interface ColumnContent {
  customers: Customer[];
  offers: Array<{ offer: Offer; bidwords: Bidword[] }>;
  pendingBidwords: Bidword[];
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function* jsonLines<T>(path: string): AsyncGenerator<T> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line.trim() !== '') yield JSON.parse(line) as T;
}

export class ReferenceState {
  readonly customers = new Map<string, Customer>();
  readonly offers = new Map<string, Offer>();
  /** Online bidwords only. */
  readonly bidwords = new Map<string, Bidword>();
  /** Last message id applied (the snapshot's watermark to begin with). */
  appliedId: number;

  constructor(watermark = 0) {
    this.appliedId = watermark;
  }

  /** Loads a BP snapshot folder (customers.jsonl, offers.jsonl, bidwords.jsonl, snapshot.json). */
  static async load(dir: string): Promise<ReferenceState> {
    const meta = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as { watermark: number };
    const s = new ReferenceState(meta.watermark);
    for await (const c of jsonLines<Customer>(join(dir, 'customers.jsonl'))) s.customers.set(c.id, c);
    for await (const o of jsonLines<Offer>(join(dir, 'offers.jsonl'))) s.offers.set(o.id, o);
    for await (const b of jsonLines<Bidword>(join(dir, 'bidwords.jsonl'))) {
      if (b.status === 'online') s.bidwords.set(b.id, b);
    }
    return s;
  }

  clone(): ReferenceState {
    const s = new ReferenceState(this.appliedId);
    for (const [k, v] of this.customers) s.customers.set(k, v);
    for (const [k, v] of this.offers) s.offers.set(k, v);
    for (const [k, v] of this.bidwords) s.bidwords.set(k, v);
    return s;
  }

  /** Applies messages in id order; ids must increase past appliedId (what dispatch guarantees). */
  apply(messages: Iterable<ChangeMessage>): void {
    for (const m of messages) {
      if (m.id <= this.appliedId)
        throw new Error(`reference: message ${m.id} is not after ${this.appliedId}`);
      this.appliedId = m.id;
      if (m.entity === 'customer') {
        if (m.op === 'upsert') this.customers.set(m.data.id, m.data as Customer);
        else this.customers.delete(m.data.id);
      } else if (m.entity === 'offer') {
        if (m.op === 'upsert') this.offers.set(m.data.id, m.data as Offer);
        else this.offers.delete(m.data.id);
      } else if (m.op === 'upsert' && (m.data as Bidword).status === 'online') {
        this.bidwords.set(m.data.id, m.data as Bidword);
      } else {
        this.bidwords.delete(m.data.id);
      }
    }
  }

  /** What column `column` of `columns` holds. */
  column(column: number, columns: number): ColumnContent {
    const mine = (offerId: string) => columnOf(offerId, columns) === column;
    const offers = new Map<string, { offer: Offer; bidwords: Bidword[] }>();
    for (const o of this.offers.values()) if (mine(o.id)) offers.set(o.id, { offer: o, bidwords: [] });
    const pending: Bidword[] = [];
    for (const b of this.bidwords.values()) {
      if (!mine(b.offerId)) continue;
      const o = offers.get(b.offerId);
      if (o === undefined) pending.push(b);
      else o.bidwords.push(b);
    }
    for (const o of offers.values()) o.bidwords.sort(byId);
    return {
      customers: [...this.customers.values()].sort(byId),
      offers: [...offers.values()].sort((a, b) => byId(a.offer, b.offer)),
      pendingBidwords: pending.sort(byId),
    };
  }

  /** Writes this state as a BP snapshot folder whose watermark is appliedId. */
  async writeSnapshot(dir: string, takenAt = new Date().toISOString()): Promise<void> {
    await mkdir(dir, { recursive: true });
    const lines = (rows: Iterable<unknown>) => {
      let out = '';
      for (const r of rows) out += `${JSON.stringify(r)}\n`;
      return out;
    };
    await writeFile(join(dir, 'customers.jsonl'), lines([...this.customers.values()].sort(byId)));
    await writeFile(join(dir, 'offers.jsonl'), lines([...this.offers.values()].sort(byId)));
    await writeFile(join(dir, 'bidwords.jsonl'), lines([...this.bidwords.values()].sort(byId)));
    await writeFile(
      join(dir, 'snapshot.json'),
      `${JSON.stringify({ takenAt, watermark: this.appliedId })}\n`,
    );
  }
}

/** Reads a change stream file (one Change per line, as `imatch gen` writes changes.jsonl). */
export async function readChanges(path: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const c of jsonLines<unknown>(path)) out.push(c);
  return out;
}
