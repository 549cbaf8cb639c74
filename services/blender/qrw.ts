// Query rewrite (QRW), seed 003's first blender step: the shared normalization (core/normalize),
// then the run-time synonym and stopword dictionaries kept in ZooKeeper `<root>/config/qrw`.
// This file is pure: compileQrwDictionary() turns the znode's JSON into an immutable lookup
// structure, rewriteQuery() applies it. runtime-config.ts watches the znode and swaps the compiled
// dictionary atomically (one reference assignment), so a request always sees one whole dictionary.
//
// Semantics (docs/api-blender.md "Query rewrite"):
//  1. tokens = tokenize(q) (NFKC, case folding, punctuation, plural folding).
//  2. Synonyms: `{"synonyms": {"sneaker": ["shoe"], "tee shirt": ["t shirt"]}}` maps a phrase (one
//     or more normalized tokens) to its canonical form, the FIRST listed alternative (one or more
//     tokens). Scanning left to right, the longest key that starts at the current token is replaced
//     by its canonical form; replaced tokens are not scanned again (no chains, no loops). Further
//     alternatives in a list are accepted and ignored for rewriting (kept for editors and future
//     expansion). Keys and values are normalized when the dictionary is loaded, so "Sneakers"
//     and "sneaker" are the same key.
//  3. Stopwords: `{"stopwords": ["cheap", "for"]}` are dropped from the rewritten tokens - unless
//     that would leave nothing, in which case stopword removal is skipped for this query (a
//     rewrite never empties a query).
//  4. The result is cut at a token boundary to MAX_QUERY_LENGTH characters (synonyms can lengthen).
import { tokenize } from '../../core/normalize.js';
import { MAX_QUERY_LENGTH } from '../../core/search-contract.js';

export interface QrwDictionary {
  /** Synonym key (normalized tokens joined by one space) -> canonical tokens. */
  readonly synonyms: ReadonlyMap<string, readonly string[]>;
  /** First token of a synonym key -> the longest key (in tokens) starting with it. */
  readonly longestKeyByFirst: ReadonlyMap<string, number>;
  readonly stopwords: ReadonlySet<string>;
  /** Where this dictionary came from (znode version or "empty"), for logs and metrics. */
  readonly source: string;
}

export interface QrwResult {
  /** Normalized tokens of the raw query. */
  readonly normalized: readonly string[];
  /** Tokens after synonyms and stopwords. */
  readonly tokens: readonly string[];
  /** tokens joined by one space: what the merger is asked. */
  readonly query: string;
  /** Synonym keys applied, in order. */
  readonly synonymsApplied: readonly string[];
  /** Stopwords removed, in order. */
  readonly stopwordsRemoved: readonly string[];
}

export const EMPTY_QRW: QrwDictionary = Object.freeze({
  synonyms: new Map(),
  longestKeyByFirst: new Map(),
  stopwords: new Set<string>(),
  source: 'empty',
});

/** Limits that keep a bad edit in ZooKeeper from hurting the query path. */
export const QRW_LIMITS = Object.freeze({ maxSynonyms: 200_000, maxStopwords: 10_000, maxKeyTokens: 8 });

export interface CompiledQrw {
  dictionary: QrwDictionary;
  /** Entries that were skipped, each with its reason (the rest of the dictionary still applies). */
  problems: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Compiles the znode's JSON value. Throws TypeError when the document as a whole is unusable (not
 * an object, wrong top-level types): the caller keeps the previous dictionary. Bad single entries
 * are skipped and reported in `problems`.
 */
export function compileQrwDictionary(doc: unknown, source: string): CompiledQrw {
  if (!isRecord(doc)) throw new TypeError('the QRW document must be a JSON object {synonyms, stopwords}');
  const unknownKeys = Object.keys(doc).filter((k) => k !== 'synonyms' && k !== 'stopwords');
  if (unknownKeys.length > 0)
    throw new TypeError(`unknown QRW keys ${unknownKeys.join(', ')}; allowed: synonyms, stopwords`);
  const rawSyn = doc.synonyms ?? {};
  const rawStop = doc.stopwords ?? [];
  if (!isRecord(rawSyn)) throw new TypeError('"synonyms" must be an object {phrase: [alternatives]}');
  if (!Array.isArray(rawStop)) throw new TypeError('"stopwords" must be an array of words');
  const synEntries = Object.entries(rawSyn);
  if (synEntries.length > QRW_LIMITS.maxSynonyms)
    throw new TypeError(`too many synonyms (${synEntries.length} > ${QRW_LIMITS.maxSynonyms})`);
  if (rawStop.length > QRW_LIMITS.maxStopwords)
    throw new TypeError(`too many stopwords (${rawStop.length} > ${QRW_LIMITS.maxStopwords})`);

  const problems: string[] = [];
  const synonyms = new Map<string, readonly string[]>();
  const longestKeyByFirst = new Map<string, number>();
  for (const [rawKey, alternatives] of synEntries) {
    const keyTokens = tokenize(rawKey);
    if (keyTokens.length === 0 || keyTokens.length > QRW_LIMITS.maxKeyTokens) {
      problems.push(`synonym ${JSON.stringify(rawKey)}: key must have 1..${QRW_LIMITS.maxKeyTokens} words`);
      continue;
    }
    const list = typeof alternatives === 'string' ? [alternatives] : alternatives;
    const first = Array.isArray(list) ? list[0] : undefined;
    const canonical = typeof first === 'string' ? tokenize(first) : [];
    if (canonical.length === 0 || canonical.length > QRW_LIMITS.maxKeyTokens) {
      problems.push(`synonym ${JSON.stringify(rawKey)}: needs a non-empty list whose first entry has words`);
      continue;
    }
    const key = keyTokens.join(' ');
    if (key === canonical.join(' ')) continue; // maps to itself: nothing to do
    if (synonyms.has(key))
      problems.push(`synonym ${JSON.stringify(rawKey)}: duplicate of "${key}", last one wins`);
    synonyms.set(key, Object.freeze(canonical));
    const firstToken = keyTokens[0]!;
    longestKeyByFirst.set(firstToken, Math.max(longestKeyByFirst.get(firstToken) ?? 0, keyTokens.length));
  }
  const stopwords = new Set<string>();
  for (const word of rawStop) {
    const t = typeof word === 'string' ? tokenize(word) : [];
    if (t.length !== 1) {
      problems.push(`stopword ${JSON.stringify(word)}: must be exactly one word after normalization`);
      continue;
    }
    stopwords.add(t[0]!);
  }
  return {
    dictionary: Object.freeze({ synonyms, longestKeyByFirst, stopwords, source }),
    problems,
  };
}

const NO_STRINGS: readonly string[] = Object.freeze([]);

/** Rewrites one query. An empty `normalized` means the query has no searchable words. */
export function rewriteQuery(dict: QrwDictionary, rawQuery: string): QrwResult {
  const normalized = tokenize(rawQuery);
  let tokens: string[] = normalized;
  let synonymsApplied: string[] | undefined;
  if (dict.synonyms.size > 0) {
    tokens = [];
    for (let i = 0; i < normalized.length; ) {
      const longest = Math.min(dict.longestKeyByFirst.get(normalized[i]!) ?? 0, normalized.length - i);
      let replaced = false;
      for (let len = longest; len >= 1; len--) {
        const key = len === 1 ? normalized[i]! : normalized.slice(i, i + len).join(' ');
        const canonical = dict.synonyms.get(key);
        if (canonical !== undefined) {
          for (const t of canonical) tokens.push(t);
          synonymsApplied ??= [];
          synonymsApplied.push(key);
          i += len;
          replaced = true;
          break;
        }
      }
      if (!replaced) tokens.push(normalized[i++]!);
    }
  }
  let stopwordsRemoved: string[] | undefined;
  if (dict.stopwords.size > 0) {
    const kept = tokens.filter((t) => !dict.stopwords.has(t));
    if (kept.length > 0 && kept.length < tokens.length) {
      stopwordsRemoved = tokens.filter((t) => dict.stopwords.has(t));
      tokens = kept;
    }
  }
  let query = tokens.join(' ');
  if (query.length > MAX_QUERY_LENGTH) {
    while (tokens.length > 1 && query.length > MAX_QUERY_LENGTH) {
      tokens = tokens.slice(0, -1);
      query = tokens.join(' ');
    }
    if (query.length > MAX_QUERY_LENGTH) {
      query = query.slice(0, MAX_QUERY_LENGTH);
      tokens = [query];
    }
  }
  return {
    normalized,
    tokens,
    query,
    synonymsApplied: synonymsApplied ?? NO_STRINGS,
    stopwordsRemoved: stopwordsRemoved ?? NO_STRINGS,
  };
}
