// The change stream: what the BP posts to dispatch after the snapshot was taken, one Change
// (`{entity, op, data}`, core/model.ts) per line, in posting order. A seeded mix of events (bid
// changes, new and deleted bidwords, new offers with their bidwords, offer status and quality
// changes, offer deletes, customers going offline and online, budget changes, new customers).
// Every change is referentially sensible: it names an entity that exists at that point of the
// stream (in the snapshot or created earlier in the stream, and not deleted since), or creates
// one with a fresh id beyond the snapshot's. An upsert carries the whole entity as it is after
// the change, built on top of earlier changes to the same entity.
//
// Memory: snapshot rows are never stored; they are rebuilt from (seed, offer number) on demand
// (offers.ts), using the first-bidword table the snapshot pass filled. Only entities the stream
// touches are kept (overlay maps), so memory grows with the number of changes, not the snapshot.
// Sequential and deterministic: one event stream, derived from the seed.
import type { Bidword, Change, Customer, Offer } from '../../core/model.js';
import {
  budgetMicros,
  type CustomerProfile,
  customerOfOffer,
  customerProfile,
  offerCountOf,
  type Plan,
} from './customers.js';
import {
  clampBid,
  keywordCandidates,
  makeOffer,
  type OfferDraft,
  pickBidMicros,
  pickKeywords,
  pickMatchType,
} from './offers.js';
import type { Progress } from './progress.js';
import type { Rng } from './rng.js';
import type { LineWriter } from './snapshot-writer.js';
import { NEGATIVE_PHRASES, vocabulary } from './vocabulary.js';
import { WeightedTable } from './zipf.js';

/** Offers a customer created by the change stream is planned to have (sets its budget and departments). */
const NEW_CUSTOMER_OFFERS = 3;

/** Event kinds and their share of events (an event is one or more change lines). */
export const EVENT_MIX = {
  'bid-change': 35,
  'bidword-status': 4,
  'bidword-add': 10,
  'negative-add': 2,
  'bidword-delete': 8,
  'offer-add': 12,
  'offer-update': 8,
  'offer-delete': 3,
  'customer-status': 8,
  'budget-change': 6,
  'customer-add': 1,
} as const;
export type EventKind = keyof typeof EVENT_MIX;
const EVENT_KINDS = Object.keys(EVENT_MIX) as EventKind[];

export interface SnapshotIndex {
  readonly root: Rng;
  readonly plan: Plan;
  /** firstBid[k] = number of offer k's first bidword, for k = 1..offers+1 (the last is the next free number). */
  readonly firstBid: Uint32Array;
}

export interface ChangeStats {
  lines: number;
  events: Record<EventKind, number>;
  byEntityOp: Record<string, number>;
  newCustomers: number;
  newOffers: number;
  newBidwords: number;
}

const num = (id: string): number => Number(id.slice(1));

/** The state of the BP as the stream changes it, over a snapshot it rebuilds on demand. */
class World {
  private readonly customers = new Map<number, Customer>();
  private readonly offers = new Map<number, Offer | null>();
  private readonly bidwords = new Map<number, Bidword | null>();
  /** Bidwords the stream added to an offer (snapshot and new offers alike). */
  private readonly added = new Map<number, number[]>();
  private readonly newOffers = new Map<number, { customer: number; firstBid: number }>();
  private readonly newProfiles = new Map<number, CustomerProfile>();
  nextCustomer: number;
  nextOffer: number;
  nextBid: number;

  constructor(private readonly snap: SnapshotIndex) {
    this.nextCustomer = snap.plan.customers + 1;
    this.nextOffer = snap.plan.offers + 1;
    this.nextBid = snap.firstBid[snap.plan.offers + 1] as number;
  }

  profile(n: number): CustomerProfile {
    const { plan, root } = this.snap;
    if (n <= plan.customers) return customerProfile(root, n, offerCountOf(plan, n));
    const p = this.newProfiles.get(n);
    if (p === undefined) throw new Error(`customer c${n} was never created`);
    return p;
  }

  createCustomer(): Customer {
    const n = this.nextCustomer++;
    const p = customerProfile(this.snap.root, n, NEW_CUSTOMER_OFFERS);
    const row: Customer = { ...p.row, status: 'online' };
    this.newProfiles.set(n, { ...p, row });
    this.customers.set(n, row);
    return row;
  }

  customer(n: number): Customer {
    return this.customers.get(n) ?? this.profile(n).row;
  }

  setCustomer(c: Customer): void {
    this.customers.set(num(c.id), c);
  }

  draft(k: number): OfferDraft {
    const { plan, root, firstBid } = this.snap;
    if (k <= plan.offers) {
      const owner = customerOfOffer(plan, k);
      return makeOffer(root, 'offer', k, this.profile(owner), firstBid[k] as number);
    }
    const info = this.newOffers.get(k);
    if (info === undefined) throw new Error(`offer o${k} was never created`);
    return makeOffer(root, 'new-offer', k, this.profile(info.customer), info.firstBid);
  }

  createOffer(customer: number): OfferDraft {
    const k = this.nextOffer++;
    const info = { customer, firstBid: this.nextBid };
    this.newOffers.set(k, info);
    const d = makeOffer(this.snap.root, 'new-offer', k, this.profile(customer), info.firstBid);
    this.nextBid += d.bidwords.length;
    this.offers.set(k, d.offer);
    for (const b of d.bidwords) this.bidwords.set(num(b.id), b);
    return d;
  }

  isLive(k: number): boolean {
    return this.offers.get(k) !== null;
  }

  offer(k: number, d: OfferDraft): Offer {
    return this.offers.get(k) ?? d.offer;
  }

  setOffer(k: number, o: Offer | null): void {
    this.offers.set(k, o);
  }

  /** The offer's bidwords as they are now (deleted ones left out). */
  currentBidwords(k: number, d: OfferDraft): Bidword[] {
    const out: Bidword[] = [];
    const consider = (n: number, original: Bidword | undefined) => {
      const cur = this.bidwords.has(n) ? this.bidwords.get(n) : original;
      if (cur !== null && cur !== undefined) out.push(cur);
    };
    for (const b of d.bidwords) consider(num(b.id), b);
    for (const n of this.added.get(k) ?? []) consider(n, undefined);
    return out;
  }

  setBidword(b: Bidword | null, n: number): void {
    this.bidwords.set(n, b);
  }

  addBidword(k: number, make: (id: string) => Bidword): Bidword {
    const n = this.nextBid++;
    const b = make(`b${n}`);
    this.bidwords.set(n, b);
    const list = this.added.get(k);
    if (list === undefined) this.added.set(k, [n]);
    else list.push(n);
    return b;
  }

  /** A random offer that exists now, or undefined after a few unlucky tries. */
  pickLiveOffer(rng: Rng): number | undefined {
    for (let i = 0; i < 20; i++) {
      const k = rng.int(1, this.nextOffer - 1);
      if (this.isLive(k)) return k;
    }
    return undefined;
  }
}

/** Writes `count` change lines (the last event may be cut short to hit the count exactly). */
export async function writeChangeStream(
  snap: SnapshotIndex,
  count: number,
  out: LineWriter,
  progress: Progress,
): Promise<ChangeStats> {
  const world = new World(snap);
  const rng = snap.root.derive('changes');
  const mix = new WeightedTable(EVENT_KINDS.map((k) => EVENT_MIX[k]));
  const stats: ChangeStats = {
    lines: 0,
    events: Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<EventKind, number>,
    byEntityOp: {},
    newCustomers: 0,
    newOffers: 0,
    newBidwords: 0,
  };
  /** Customers created by the stream that still get their first offers. */
  const pendingOwners: number[] = [];
  const batch: Change[] = [];

  progress.phase('changes', count);
  while (stats.lines < count) {
    batch.length = 0;
    const kind = pendingOwners.length > 0 ? 'offer-add' : (EVENT_KINDS[mix.sample(rng)] as EventKind);
    if (!makeEvent(kind, rng, world, batch, pendingOwners, stats)) continue;
    stats.events[kind]++;
    for (const change of batch) {
      if (stats.lines >= count) break;
      const key = `${change.entity} ${change.op}`;
      stats.byEntityOp[key] = (stats.byEntityOp[key] ?? 0) + 1;
      stats.lines++;
      const wait = out.line(JSON.stringify(change));
      if (wait) await wait;
      progress.tick();
    }
  }
  progress.end();
  return stats;
}

/** Appends the changes of one event to `batch`; false when no fitting entity was found. */
function makeEvent(
  kind: EventKind,
  rng: Rng,
  world: World,
  batch: Change[],
  pendingOwners: number[],
  stats: ChangeStats,
): boolean {
  switch (kind) {
    case 'customer-add': {
      const c = world.createCustomer();
      batch.push({ entity: 'customer', op: 'upsert', data: c });
      for (let i = rng.int(1, 3); i > 0; i--) pendingOwners.push(num(c.id));
      stats.newCustomers++;
      return true;
    }
    case 'customer-status': {
      const n = rng.int(1, world.nextCustomer - 1);
      const c = world.customer(n);
      let status: Customer['status'];
      if (c.status === 'online') status = 'offline';
      else if (c.status === 'offline') status = 'online';
      else if (rng.chance(0.2)) status = 'online';
      else return false;
      const next = { ...c, status };
      world.setCustomer(next);
      batch.push({ entity: 'customer', op: 'upsert', data: next });
      return true;
    }
    case 'budget-change': {
      const n = rng.int(1, world.nextCustomer - 1);
      const c = world.customer(n);
      const factor = Math.exp((rng.float() * 2 - 1) * Math.LN2); // x0.5 .. x2
      let budget = budgetMicros((c.dailyBudgetMicros / 1_000_000) * factor);
      if (budget === c.dailyBudgetMicros) budget += 1_000_000;
      const next = { ...c, dailyBudgetMicros: budget };
      world.setCustomer(next);
      batch.push({ entity: 'customer', op: 'upsert', data: next });
      return true;
    }
    case 'offer-add': {
      const owner = pendingOwners.shift() ?? pickOwner(rng, world);
      if (owner === undefined) return false;
      const d = world.createOffer(owner);
      batch.push({ entity: 'offer', op: 'upsert', data: d.offer });
      for (const b of d.bidwords) batch.push({ entity: 'bidword', op: 'upsert', data: b });
      stats.newOffers++;
      stats.newBidwords += d.bidwords.length;
      return true;
    }
    case 'offer-update': {
      const k = world.pickLiveOffer(rng);
      if (k === undefined) return false;
      const cur = world.offer(k, world.draft(k));
      const r = rng.float();
      let next: Offer;
      if (r < 0.6) next = { ...cur, status: cur.status === 'online' ? 'offline' : 'online' };
      else if (r < 0.9) {
        let q = Math.round(Math.min(1, Math.max(0.001, cur.quality + rng.normal() * 0.08)) * 1000) / 1000;
        if (q === cur.quality) q = q > 0.5 ? q - 0.01 : q + 0.01;
        next = { ...cur, quality: q };
      } else {
        // A new color variant in the title (the landing page stays).
        const base = cur.title.replace(/ - [^-]+$/, '');
        const title = `${base} - ${rng.pick(vocabulary().colors)}`;
        next = { ...cur, title: title === cur.title ? base : title };
      }
      world.setOffer(k, next);
      batch.push({ entity: 'offer', op: 'upsert', data: next });
      return true;
    }
    case 'offer-delete': {
      const k = world.pickLiveOffer(rng);
      if (k === undefined) return false;
      world.setOffer(k, null);
      batch.push({ entity: 'offer', op: 'delete', data: { id: `o${k}` } });
      return true;
    }
    case 'bid-change':
    case 'bidword-status':
    case 'bidword-delete': {
      const k = world.pickLiveOffer(rng);
      if (k === undefined) return false;
      const all = world.currentBidwords(k, world.draft(k));
      const pool = kind === 'bid-change' ? all.filter((b) => b.bidMicros !== undefined) : all;
      if (pool.length === 0) return false;
      const cur = rng.pick(pool);
      if (kind === 'bidword-delete') {
        world.setBidword(null, num(cur.id));
        batch.push({ entity: 'bidword', op: 'delete', data: { id: cur.id } });
        return true;
      }
      let next: Bidword;
      if (kind === 'bidword-status')
        next = { ...cur, status: cur.status === 'online' ? 'offline' : 'online' };
      else {
        const old = cur.bidMicros as number;
        let bid = clampBid(old * rng.logNormal(1, 0.3));
        if (bid === old) bid = clampBid(old + (old < 20_000_000 ? 10_000 : -10_000));
        next = { ...cur, bidMicros: bid };
      }
      world.setBidword(next, num(cur.id));
      batch.push({ entity: 'bidword', op: 'upsert', data: next });
      return true;
    }
    case 'bidword-add':
    case 'negative-add': {
      const k = world.pickLiveOffer(rng);
      if (k === undefined) return false;
      const d = world.draft(k);
      const have = new Set(world.currentBidwords(k, d).map((b) => b.keyword));
      const offerId = `o${k}`;
      let b: Bidword;
      if (kind === 'negative-add') {
        const phrase = rng.pick(NEGATIVE_PHRASES);
        if (have.has(phrase)) return false;
        b = world.addBidword(k, (id) => ({
          id,
          offerId,
          keyword: phrase,
          matchType: 'negative-phrase',
          status: 'online',
        }));
      } else {
        const fresh = keywordCandidates(d.parts, rng).filter((c) => !have.has(c.text));
        if (fresh.length === 0) return false;
        const keyword = pickKeywords(rng, fresh, 1)[0] as string;
        const matchType = pickMatchType(rng, keyword);
        b = world.addBidword(k, (id) => ({
          id,
          offerId,
          keyword,
          matchType,
          bidMicros: pickBidMicros(rng, d.parts, keyword, matchType),
          status: 'online',
        }));
      }
      stats.newBidwords++;
      batch.push({ entity: 'bidword', op: 'upsert', data: b });
      return true;
    }
  }
}

/** An existing customer that can add an offer (not suspended), or undefined after a few tries. */
function pickOwner(rng: Rng, world: World): number | undefined {
  for (let i = 0; i < 20; i++) {
    const n = rng.int(1, world.nextCustomer - 1);
    if (world.customer(n).status !== 'suspended') return n;
  }
  return undefined;
}
