// Offers and their bidwords. A product is described once (leaf category, noun, brand, audience,
// features, material, spec, color); the title, the category and every keyword come from that one
// description, so the keywords an advertiser buys are words of its own title, as on a real BP,
// and generated queries (made the same way) find them. An offer with its bidwords is a pure
// function of (seed, stream, offer number, customer profile, first bidword number): the change
// stream rebuilds snapshot offers instead of remembering them. Synchronous, no I/O.
import type { Bidword, Offer } from '../../core/model.js';
import { type CustomerProfile, pickRegions, slugify } from './customers.js';
import type { Rng } from './rng.js';
import { AUDIENCES, type Leaf, NEGATIVE_PHRASES, vocabulary } from './vocabulary.js';

export interface ProductParts {
  readonly leaf: Leaf;
  readonly noun: string;
  readonly brand?: string;
  readonly audience?: string;
  readonly style?: string;
  readonly features: readonly string[];
  readonly material?: string;
  readonly spec?: string;
  readonly color?: string;
  /** Features of the leaf the title does not mention (advertisers bid on those too). */
  readonly related: readonly string[];
}

export interface KeywordCandidate {
  readonly text: string;
  readonly weight: number;
}

export interface OfferDraft {
  readonly offer: Offer;
  readonly bidwords: readonly Bidword[];
  readonly parts: ProductParts;
}

const BID_STEP_MICROS = 10_000;
export const MIN_BID_MICROS = 50_000; // 0.05 units
export const MAX_GEN_BID_MICROS = 20_000_000; // 20.00 units
export const MAX_BIDWORDS_PER_OFFER = 20;

// Weak heads: the last word of these nouns says nothing alone ("kit", "set").
const WEAK_HEADS = new Set([
  'set',
  'kit',
  'pack',
  'system',
  'maker',
  'machine',
  'station',
  'holder',
  'stand',
  'bundle',
  'combo',
  'card',
  'box',
  'mount',
  'pad',
  'player',
  'cover',
  'tool',
  'tools',
  'toys',
  'supplies',
  'accessories',
  'bars',
  'mix',
  'powder',
  'oil',
  'pit',
  'cam',
]);

/** Picks a noun by 1/rank (the first noun of a leaf is its usual name) and fills placeholders. */
function pickNoun(rng: Rng, leaf: Leaf): string {
  let total = 0;
  for (let i = 0; i < leaf.nouns.length; i++) total += 1 / (i + 1);
  let x = rng.float() * total;
  let noun = leaf.nouns[leaf.nouns.length - 1] as string;
  for (let i = 0; i < leaf.nouns.length; i++) {
    x -= 1 / (i + 1);
    if (x < 0) {
      noun = leaf.nouns[i] as string;
      break;
    }
  }
  return fillTemplate(rng, noun);
}

/** Replaces {fruit} {spice} {vegetable} {make} with faker words and {a|b|c} with one option. */
export function fillTemplate(rng: Rng, text: string): string {
  if (!text.includes('{')) return text;
  const fill = vocabulary().fill;
  return text.replace(/\{([^}]+)\}/g, (_, inner: string) => {
    if (inner === 'fruit' || inner === 'spice' || inner === 'vegetable' || inner === 'make')
      return rng.pick(fill[inner]);
    return rng.pick(inner.split('|'));
  });
}

function pickAudience(rng: Rng, leaf: Leaf): string | undefined {
  const kind = leaf.audience;
  if (kind === 'none' || !rng.chance(0.85)) return undefined;
  // Women's, Men's, Unisex, Kids', Boys', Girls'
  const weights = kind === 'adult' ? [45, 40, 15] : kind === 'all' ? [35, 30, 8, 12, 7, 8] : [1];
  let x = rng.float() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i] as number;
    if (x < 0) return AUDIENCES[kind][i];
  }
  return AUDIENCES[kind][0];
}

/** Describes one product of `leaf`; `brand` is used when given (the caller decides how often). */
export function describeProduct(rng: Rng, leaf: Leaf, brand: string | undefined): ProductParts {
  const v = vocabulary();
  const noun = pickNoun(rng, leaf);
  const nounLower = noun.toLowerCase();
  const audience = pickAudience(rng, leaf);
  const fresh = leaf.features.filter((f) => !nounLower.includes(f.toLowerCase()));
  const r = rng.float();
  const featureCount = Math.min(fresh.length, r < 0.25 ? 0 : r < 0.75 ? 1 : 2);
  const shuffled = rng.sample(fresh, fresh.length);
  const features = shuffled.slice(0, featureCount);
  const related = shuffled.slice(featureCount, featureCount + 2);
  const style =
    leaf.dept.styles.length > 0 && featureCount < 2 && rng.chance(0.1)
      ? rng.pick(leaf.dept.styles)
      : undefined;
  let material: string | undefined;
  if (leaf.materials.length > 0 && rng.chance(0.35)) {
    const m = rng.pick(leaf.materials);
    if (!nounLower.includes(m.toLowerCase()) && !features.includes(m)) material = m;
  }
  const spec =
    leaf.specs.length > 0 && rng.chance(0.45) ? fillTemplate(rng, rng.pick(leaf.specs)) : undefined;
  const color = leaf.dept.colors && rng.chance(0.55) ? rng.pick(v.colors) : undefined;
  const parts: {
    -readonly [K in keyof ProductParts]: ProductParts[K];
  } = { leaf, noun, features, related };
  if (brand !== undefined) parts.brand = brand;
  if (audience !== undefined) parts.audience = audience;
  if (style !== undefined) parts.style = style;
  if (material !== undefined) parts.material = material;
  if (spec !== undefined) parts.spec = spec;
  if (color !== undefined) parts.color = color;
  return parts;
}

const POST_MODIFIER = /^(with|for|in) /i;

/** "Waterproof" + "Boots" -> "Waterproof Boots"; "With Case" + "Tool Kit" -> "Tool Kit With Case". */
export function modify(feature: string, noun: string): string {
  return POST_MODIFIER.test(feature) ? `${noun} ${feature}` : `${feature} ${noun}`;
}

/** "Bergstrom Women's Waterproof Leather Hiking Boots, Size 9 - Brown" */
export function titleOf(p: ProductParts): string {
  const words: string[] = [];
  if (p.brand !== undefined) words.push(p.brand);
  if (p.audience !== undefined) words.push(p.audience);
  if (p.style !== undefined) words.push(p.style);
  const pre = p.features.filter((f) => !POST_MODIFIER.test(f));
  const post = p.features.filter((f) => POST_MODIFIER.test(f));
  words.push(...pre);
  if (p.material !== undefined) words.push(p.material);
  words.push(p.noun, ...post);
  let title = words.join(' ');
  if (p.spec !== undefined) title += `, ${p.spec}`;
  if (p.color !== undefined) title += ` - ${p.color}`;
  return title;
}

/** The generic head of a noun: "Hiking Boots" -> "boots"; weak heads keep the whole noun. */
export function headTerm(noun: string): string {
  const base = noun.replace(/\s+for\s+.*$/i, '').toLowerCase();
  const words = base.split(' ');
  const last = words[words.length - 1] as string;
  return words.length === 1 || WEAK_HEADS.has(last) || last.length < 3 ? base : last;
}

const SPEC_IS_QUANTITY = /pack|count|piece|set of|sheets|colors|varieties|tea bags|^size /i;

/**
 * Phrases an advertiser of this product would buy, most natural first, with relative weights.
 * Lower case as advertisers type them; apostrophes kept ("women's"), since the index folds them.
 */
export function keywordCandidates(p: ProductParts, rng: Rng): KeywordCandidate[] {
  const out = new Map<string, number>();
  const add = (text: string, weight: number) => {
    const t = text.toLowerCase().replace(/\s+/g, ' ').trim();
    if (t === '' || t.length > 100) return;
    out.set(t, (out.get(t) ?? 0) + weight);
  };
  const noun = p.noun.toLowerCase();
  const head = headTerm(p.noun);
  const aud =
    p.audience === undefined ? undefined : rng.chance(0.3) ? p.audience.replace("'", '') : p.audience;
  add(noun, 6);
  if (head !== noun) add(head, 2.5);
  for (const f of p.features) {
    add(modify(f, noun), 3);
    add(modify(f, head), 0.8);
  }
  for (const f of p.related) add(modify(f, noun), 1.2);
  if (aud !== undefined) {
    add(`${aud} ${noun}`, 3);
    add(`${aud} ${head}`, 1);
    const f = p.features[0];
    if (f !== undefined) add(`${aud} ${modify(f, noun)}`, 1.5);
  }
  for (const alt of p.leaf.nouns) {
    if (alt.includes('{') || alt.toLowerCase() === noun) continue;
    add(alt, 1.5);
    if (aud !== undefined) add(`${aud} ${alt}`, 0.6);
  }
  if (p.color !== undefined) add(`${p.color} ${noun}`, 1.3);
  if (p.material !== undefined) add(`${p.material} ${noun}`, 1.5);
  if (p.style !== undefined) add(`${p.style} ${noun}`, 0.6);
  if (p.brand !== undefined) {
    add(`${p.brand} ${noun}`, 1.2);
    add(p.brand, 0.5);
  }
  if (p.spec !== undefined && !SPEC_IS_QUANTITY.test(p.spec)) add(`${p.spec} ${noun}`, 1);
  return [...out].map(([text, weight]) => ({ text, weight }));
}

/** Picks k distinct candidates, each draw proportional to weight (without replacement). */
export function pickKeywords(rng: Rng, candidates: readonly KeywordCandidate[], k: number): string[] {
  const pool = candidates.slice();
  const out: string[] = [];
  while (out.length < k && pool.length > 0) {
    let total = 0;
    for (const c of pool) total += c.weight;
    let x = rng.float() * total;
    let idx = pool.length - 1;
    for (let i = 0; i < pool.length; i++) {
      x -= (pool[i] as KeywordCandidate).weight;
      if (x < 0) {
        idx = i;
        break;
      }
    }
    out.push((pool[idx] as KeywordCandidate).text);
    pool.splice(idx, 1);
  }
  return out;
}

/** Match type by keyword length: short keywords go broad, long specific ones exact. */
export function pickMatchType(rng: Rng, keyword: string): 'exact' | 'phrase' | 'broad' {
  const words = keyword.split(' ').length;
  const r = rng.float();
  if (words === 1) return r < 0.55 ? 'broad' : r < 0.9 ? 'phrase' : 'exact';
  if (words === 2) return r < 0.45 ? 'broad' : r < 0.75 ? 'phrase' : 'exact';
  return r < 0.3 ? 'broad' : r < 0.6 ? 'phrase' : 'exact';
}

/**
 * A bid in micros: log-normal around 0.45 units x the department's scale, higher for short
 * (contested) and exact keywords, lower for brand keywords; clamped to 0.05..20.00 and rounded to
 * a cent (10,000 micros).
 */
export function pickBidMicros(rng: Rng, p: ProductParts, keyword: string, matchType: string): number {
  let median = 0.45 * p.leaf.dept.bidScale;
  const words = keyword.split(' ').length;
  if (words === 1) median *= 1.4;
  else if (words >= 3) median *= 0.85;
  if (matchType === 'exact') median *= 1.15;
  if (p.brand !== undefined && keyword.startsWith(p.brand.toLowerCase())) median *= 0.7;
  return clampBid(rng.logNormal(median, 0.8) * 1_000_000);
}

export function clampBid(micros: number): number {
  const stepped = Math.round(micros / BID_STEP_MICROS) * BID_STEP_MICROS;
  return Math.min(MAX_GEN_BID_MICROS, Math.max(MIN_BID_MICROS, stepped));
}

/** Offer quality in (0, 1], three decimals: Kumaraswamy(2.2, 1.8) shifted by the advertiser's bias. */
export function pickQuality(rng: Rng, bias: number): number {
  const k = (1 - (1 - rng.float()) ** (1 / 1.8)) ** (1 / 2.2);
  const q = Math.min(1, Math.max(0.001, k + bias));
  return Math.round(q * 1000) / 1000;
}

/** Positive bidwords per offer: 1 + geometric(0.18), redrawn above 20 (mean about 5). */
function pickKeywordCount(rng: Rng): number {
  for (;;) {
    let n = 1;
    while (rng.float() >= 0.18) n++;
    if (n <= MAX_BIDWORDS_PER_OFFER) return n;
  }
}

/** Negative keywords for an offer (about 12% of offers carry 1-3). */
function pickNegatives(
  rng: Rng,
  p: ProductParts,
  positives: readonly string[],
): [string, Bidword['matchType']][] {
  if (!rng.chance(0.12)) return [];
  const n = rng.int(1, 3);
  const out: [string, Bidword['matchType']][] = [];
  const pool = NEGATIVE_PHRASES.slice();
  if (p.audience === "Women's") pool.push("men's", 'mens');
  if (p.audience === "Men's") pool.push("women's", 'womens');
  if (p.audience !== undefined && !p.audience.startsWith('K')) pool.push('kids');
  const head = headTerm(p.noun);
  for (let i = 0; i < n; i++) {
    if (i === 0 && !positives.includes(head) && rng.chance(0.3)) {
      out.push([head, 'negative-exact']);
      continue;
    }
    const phrase = rng.pick(pool);
    if (out.some(([t]) => t === phrase) || positives.includes(phrase)) continue;
    out.push([phrase, rng.chance(0.85) ? 'negative-phrase' : 'negative-exact']);
  }
  return out;
}

/**
 * Offer number k of `customer`, with its bidwords numbered from `firstBid`. `stream` separates
 * snapshot offers ("offer") from offers the change stream creates ("new-offer").
 */
export function makeOffer(
  root: Rng,
  stream: string,
  k: number,
  customer: CustomerProfile,
  firstBid: number,
): OfferDraft {
  const rng = root.derive(stream, k);
  const dept = customer.depts[customer.deptTable.sample(rng)]!;
  const leaf = dept.leaves[dept.leafTable.sample(rng)]!;
  const brand = rng.chance(0.65)
    ? rng.chance(0.6)
      ? customer.brand
      : rng.pick(vocabulary().brands)
    : undefined;
  const parts = describeProduct(rng, leaf, brand);
  const title = titleOf(parts);
  const id = `o${k}`;
  const offer: Offer = {
    id,
    customerId: customer.row.id,
    title,
    category: leaf.path,
    imageUrl: `https://img.${customer.domain}/p/${id}.jpg`,
    landingUrl: `https://www.${customer.domain}/products/${slugify(title)}-${id}`,
    status: rng.chance(0.95) ? 'online' : 'offline',
    quality: pickQuality(rng, customer.qualityBias),
  };
  const custRegions = customer.row.regions;
  if (custRegions !== undefined) {
    if (rng.chance(0.4)) offer.regions = rng.sample(custRegions, rng.int(1, custRegions.length)).sort();
  } else if (rng.chance(0.08)) {
    offer.regions = pickRegions(rng, rng.int(1, 3));
  }

  const candidates = keywordCandidates(parts, rng);
  const keywords = pickKeywords(rng, candidates, pickKeywordCount(rng));
  const negatives = pickNegatives(rng, parts, keywords).slice(0, MAX_BIDWORDS_PER_OFFER - keywords.length);
  const bidwords: Bidword[] = [];
  let next = firstBid;
  for (const keyword of keywords) {
    const matchType = pickMatchType(rng, keyword);
    bidwords.push({
      id: `b${next++}`,
      offerId: id,
      keyword,
      matchType,
      bidMicros: pickBidMicros(rng, parts, keyword, matchType),
      status: rng.chance(0.97) ? 'online' : 'offline',
    });
  }
  for (const [keyword, matchType] of negatives) {
    bidwords.push({ id: `b${next++}`, offerId: id, keyword, matchType, status: 'online' });
  }
  return { offer, bidwords, parts };
}
