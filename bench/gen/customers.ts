// Advertisers (customers): how many offers each owns, and each one's profile (brand, name,
// web domain, departments it sells in, status, daily budget, regions). A profile is a pure
// function of (seed, customer number, offer count), so the change stream can rebuild any
// customer without the snapshot in memory. Synchronous, no I/O.
import type { Customer } from '../../core/model.js';
import type { Rng } from './rng.js';
import { type Department, vocabulary } from './vocabulary.js';
import { allocate, WeightedTable, zipfWeights } from './zipf.js';

/** Exponent of advertiser size (offers per customer): a few big ones, a long tail of small ones. */
export const CUSTOMER_SIZE_ZIPF_S = 0.8;
/** Default offers per customer when --customers is not given. */
export const DEFAULT_OFFERS_PER_CUSTOMER = 50;

/** How the offers of a run are spread over its customers. */
export interface Plan {
  readonly offers: number;
  readonly customers: number;
  /** offerStart[i] = number of the first offer of customer i+1 (offers are numbered from 1); length customers+1. */
  readonly offerStart: Float64Array;
}

export function defaultCustomers(offers: number): number {
  return Math.max(1, Math.round(offers / DEFAULT_OFFERS_PER_CUSTOMER));
}

/**
 * Offer counts per customer: Zipf(0.8) sizes in a seeded random order, every customer owning
 * at least one offer when there are enough offers. Customer i+1 owns offers
 * offerStart[i] .. offerStart[i+1]-1, so an advertiser's offers are contiguous, as they are
 * when a BP exports account by account.
 */
export function makePlan(root: Rng, offers: number, customers: number): Plan {
  const sizes = Array.from(
    allocate(offers, zipfWeights(customers, CUSTOMER_SIZE_ZIPF_S), offers >= customers ? 1 : 0),
  );
  root.derive('plan').shuffle(sizes);
  const offerStart = new Float64Array(customers + 1);
  let next = 1;
  for (let i = 0; i < customers; i++) {
    offerStart[i] = next;
    next += sizes[i] as number;
  }
  offerStart[customers] = next;
  return { offers, customers, offerStart };
}

/** Number (1-based) of the customer that owns snapshot offer k. */
export function customerOfOffer(plan: Plan, k: number): number {
  let lo = 0;
  let hi = plan.customers - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((plan.offerStart[mid] as number) <= k) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

export function offerCountOf(plan: Plan, n: number): number {
  return (plan.offerStart[n] as number) - (plan.offerStart[n - 1] as number);
}

export interface CustomerProfile {
  readonly row: Customer;
  readonly number: number;
  readonly brand: string;
  readonly domain: string;
  /** Departments this advertiser sells in, main one first. */
  readonly depts: readonly Department[];
  readonly deptTable: WeightedTable;
  /** Added to every offer's quality: some advertisers write better ads than others. */
  readonly qualityBias: number;
}

/** The brand a customer sells under; drawn first from its stream, so queries can name it cheaply. */
export function customerBrand(root: Rng, n: number): string {
  return root.derive('customer', n).pick(vocabulary().brands);
}

/** The profile of customer n that owns `offerCount` offers. */
export function customerProfile(root: Rng, n: number, offerCount: number): CustomerProfile {
  const v = vocabulary();
  const rng = root.derive('customer', n);
  const brand = rng.pick(v.brands); // must stay the first draw (customerBrand)

  let deptCount = 1;
  const roll = rng.float();
  if (roll > 0.55) deptCount = roll > 0.92 ? 4 : roll > 0.8 ? 3 : 2;
  if (offerCount >= 100) deptCount += 1;
  if (offerCount >= 1000) deptCount += 1;
  deptCount = Math.min(deptCount, v.departments.length);
  const depts: Department[] = [];
  for (let tries = 0; depts.length < deptCount && tries < 100; tries++) {
    const d = v.departments[v.deptTable.sample(rng)] as Department;
    if (!depts.includes(d)) depts.push(d);
  }
  const main = depts[0] as Department;

  const shop = rng.pick(v.shopWords);
  const legal = rng.chance(0.6) ? ` ${rng.pick(v.legalTypes)}` : '';
  const name = `${brand} ${main.label} ${shop}${legal}`;
  const domain = `${slugify(`${brand} ${main.label}`)}.example`;

  const s = rng.float();
  const status: Customer['status'] = s < 0.9 ? 'online' : s < 0.97 ? 'offline' : 'suspended';
  const dailyBudgetMicros = budgetMicros(rng.logNormal(20 * Math.max(1, offerCount) ** 0.55, 0.6));

  const row: Customer = { id: `c${n}`, name, status, dailyBudgetMicros };
  if (rng.chance(0.3)) row.regions = pickRegions(rng, rng.int(1, 4));
  return {
    row,
    number: n,
    brand,
    domain,
    depts,
    deptTable: new WeightedTable(zipfWeights(depts.length, 1.2)),
    qualityBias: (rng.float() - 0.5) * 0.2,
  };
}

/** Daily budget in whole units: 1-unit steps below 100, 10 below 1,000, then 100; at least 5. */
export function budgetMicros(units: number): number {
  const u = Math.min(Math.max(units, 5), 1_000_000);
  const step = u < 100 ? 1 : u < 1000 ? 10 : 100;
  return Math.max(5, Math.round(u / step) * step) * 1_000_000;
}

/** k distinct region codes, popular countries first more often, in a stable (sorted) order. */
export function pickRegions(rng: Rng, k: number): string[] {
  const v = vocabulary();
  const out = new Set<string>();
  for (let tries = 0; out.size < k && tries < 50; tries++)
    out.add(v.regions[v.regionTable.sample(rng)] as string);
  return [...out].sort();
}

export function slugify(text: string, max = 60): string {
  const s = text
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s.length <= max ? s : s.slice(0, max).replace(/-+$/, '');
}
