// The query log: what buyers type, one search per line, in the order they arrive. Queries come
// from a universe of distinct queries ranked by popularity; each line draws a rank from a
// Zipf(0.8) law, so head queries repeat many times and the tail appears once. A rank's query is
// built from its own seeded stream with the same product descriptions and keyword phrases as the
// offers, so most queries find ads; about 5% are searches about places that no keyword can match.
// Per line, some queries get the surface noise real users add (case, plurals, hyphens,
// punctuation, apostrophes, full-width letters), kept only when core/normalize folds it back to
// the same tokens, so the noise tests normalization and not the matcher. Sequential, streamed.
import { tokenize } from '../../core/normalize.js';
import { customerBrand, type Plan } from './customers.js';
import { describeProduct, type KeywordCandidate, keywordCandidates, pickKeywords } from './offers.js';
import type { Progress } from './progress.js';
import type { Rng } from './rng.js';
import type { LineWriter } from './snapshot-writer.js';
import { type Leaf, QUERY_PREFIXES, QUERY_SUFFIXES, vocabulary } from './vocabulary.js';
import { type WeightedTable, zipfTable } from './zipf.js';

/** Popularity exponent of the query universe. */
export const QUERY_ZIPF_S = 0.8;
/** Share of distinct queries that are about places, not products (no ads can match). */
export const NO_AD_SHARE = 0.05;
export const MAX_QUERY_WORDS = 4;

/** One line of queries.jsonl. */
export interface QueryLine {
  q: string;
  region?: string;
  category?: string;
}

/** Number of distinct queries behind a log of `count` lines. */
export function universeSize(count: number): number {
  return Math.min(1_000_000, Math.max(1000, Math.round(count * 0.5)));
}

export interface BaseQuery {
  readonly text: string;
  /** The leaf the query is about; undefined for queries about places. */
  readonly leaf?: Leaf;
}

/** The distinct query of popularity rank r (0 = most popular) among `universe` queries. */
export function baseQuery(root: Rng, plan: Plan, r: number, universe: number): BaseQuery {
  const v = vocabulary();
  const rng = root.derive('query', r);
  if (rng.chance(NO_AD_SHARE)) {
    const template = rng.pick(v.noAdTemplates);
    let text = '';
    for (let i = 0; i < 20 && (text === '' || wordCount(text) > MAX_QUERY_WORDS); i++)
      text = template.replace('{city}', rng.pick(v.noAdCities)).toLowerCase();
    return { text };
  }
  const leaf = v.leaves[v.leafTable.sample(rng)] as Leaf;
  const brand = rng.chance(0.1) ? customerBrand(root, rng.int(1, plan.customers)) : undefined;
  const parts = describeProduct(rng, leaf, brand);
  let candidates: KeywordCandidate[] = keywordCandidates(parts, rng).filter(
    (c) => wordCount(c.text) <= MAX_QUERY_WORDS,
  );
  // Head queries are short and plain ("running shoes"), the tail is specific.
  const head = r < universe * 0.02;
  if (head) {
    const short = candidates.filter((c) => wordCount(c.text) <= 2 && c.weight >= 1.5);
    if (short.length > 0) candidates = short;
  }
  let text =
    candidates.length > 0 ? (pickKeywords(rng, candidates, 1)[0] as string) : parts.noun.toLowerCase();
  const roll = head ? 1 : rng.float();
  let decorated = text;
  if (roll < 0.12) decorated = `${rng.pick(QUERY_PREFIXES)} ${text}`;
  else if (roll < 0.22) decorated = `${text} ${rng.pick(QUERY_SUFFIXES)}`;
  else if (roll < 0.27 && parts.audience !== undefined) {
    const aud = parts.audience.toLowerCase();
    const bare = aud.replace("'", '');
    for (const form of [`${aud} `, `${bare} `]) {
      if (text.startsWith(form)) {
        const who = bare.endsWith('s') ? bare.slice(0, -1) : bare; // womens -> women, kids -> kid
        decorated = `${text.slice(form.length)} for ${who === 'kid' ? 'kids' : who}`;
        break;
      }
    }
  }
  if (wordCount(decorated) <= MAX_QUERY_WORDS) text = decorated;
  return { text, leaf };
}

function wordCount(text: string): number {
  return text.split(' ').length;
}

const sameTokens = (a: string, b: string): boolean => {
  const x = tokenize(a);
  const y = tokenize(b);
  return x.length === y.length && x.every((t, i) => t === y[i]);
};

/** Surface noise a user adds to a query, kept only when normalization undoes it. */
export function vary(rng: Rng, q: string): string {
  let out = q;
  const tryVariant = (variant: string) => {
    if (variant !== out && sameTokens(variant, out)) out = variant;
  };
  const words = () => out.split(' ');
  if (rng.chance(0.08)) {
    const w = words();
    const last = w[w.length - 1] as string;
    w[w.length - 1] = last.endsWith('s') ? last.slice(0, -1) : `${last}s`;
    tryVariant(w.join(' '));
  }
  if (rng.chance(0.03)) {
    tryVariant(
      out.includes("'") ? out.replace("'", '') : out.replace(/\b(women|men|kid|boy|girl)s\b/, "$1's"),
    );
  }
  if (rng.chance(0.06)) {
    const w = words();
    const r = rng.float();
    if (r < 0.4 && w.length >= 2) {
      const i = rng.int(0, w.length - 2);
      tryVariant([...w.slice(0, i), `${w[i]}-${w[i + 1]}`, ...w.slice(i + 2)].join(' '));
    } else if (r < 0.7) tryVariant(`${out}${rng.pick(['?', '!', '.'])}`);
    else if (r < 0.85) tryVariant(out.replace(' ', '  '));
    else tryVariant(out.replace(' ', ', '));
  }
  const c = rng.float();
  if (c < 0.1) tryVariant(out.replace(/(^|\s)(\S)/g, (_, s: string, ch: string) => s + ch.toUpperCase()));
  else if (c < 0.15) tryVariant(out.charAt(0).toUpperCase() + out.slice(1));
  else if (c < 0.18) tryVariant(out.toUpperCase());
  else if (c < 0.185) tryVariant(toFullWidth(out));
  return out;
}

/** ASCII letters and digits to their full-width forms (NFKC maps them back). */
export function toFullWidth(text: string): string {
  return text.replace(/[A-Za-z0-9]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
}

export interface QueryLogStats {
  lines: number;
  /** Distinct popularity ranks drawn. */
  ranks: number;
}

/** Writes `count` query lines. */
export async function writeQueryLog(
  root: Rng,
  plan: Plan,
  count: number,
  out: LineWriter,
  progress: Progress,
): Promise<QueryLogStats> {
  const v = vocabulary();
  const universe = universeSize(count);
  const popularity: WeightedTable = zipfTable(universe, QUERY_ZIPF_S);
  const rng = root.derive('query-log');
  // The head of the universe is drawn again and again: remember it instead of rebuilding it.
  const cache = new Map<number, BaseQuery>();
  const seen = new Set<number>();
  progress.phase('queries', count);
  for (let i = 0; i < count; i++) {
    const r = popularity.sample(rng);
    let base = cache.get(r);
    if (base === undefined) {
      base = baseQuery(root, plan, r, universe);
      if (r < 10_000) cache.set(r, base);
    }
    if (seen.size < 5_000_000) seen.add(r);
    const line: QueryLine = { q: vary(rng, base.text) };
    if (rng.chance(0.35)) line.region = v.regions[v.regionTable.sample(rng)] as string;
    if (base.leaf !== undefined && rng.chance(0.02)) line.category = base.leaf.path;
    const wait = out.line(JSON.stringify(line));
    if (wait) await wait;
    progress.tick();
  }
  progress.end();
  return { lines: count, ranks: seen.size };
}
