// The one text-normalization function, shared by the index builder, the searcher, the query
// rewriter (QRW) and the tests. Pure and allocation-light; safe to call from any hot path.
//
// What it does, in order (docs/normalization.md has the same list with examples):
//  1. Unicode NFKC (full-width letters and digits become ASCII, ligatures split, "ﬁ" -> "fi").
//  2. Case folding: toLowerCase, plus the full folds lower-casing misses: "ß" -> "ss", "ς" -> "σ".
//  3. Apostrophes (' and ’) inside a word are dropped: "men's" -> "mens", "don't" -> "dont".
//  4. Every other character that is not a letter, a digit or a combining mark becomes a space:
//     punctuation, symbols, hyphens ("t-shirt" -> "t shirt"), underscores, emoji.
//     A dot between two digits is kept ("2.5mm" stays one token); a comma that separates
//     thousands is dropped ("1,000" -> "1000").
//  5. Split on whitespace into tokens.
//  6. Plural folding per token (English, rule-based, symmetric on both sides of a match):
//     irregular plurals from a small table (women -> woman, men -> man, children -> child,
//     feet -> foot, teeth -> tooth, mice -> mouse, geese -> goose, people -> person);
//     then, for purely alphabetic tokens longer than 3 letters:
//     "-ies" -> "-y" (batteries -> battery; "-aies"/"-eies" stay),
//     "-sses" -> "-ss" (glasses -> glass), "-xes"/"-ches"/"-shes"/"-zzes" drop "es"
//     (boxes -> box, watches -> watch), words ending "ss", "us", "is" stay (glass, cactus,
//     tennis), otherwise a final "s" is dropped (shoes -> shoe, cables -> cable);
//     the irregular table is checked again on the result ("mens" -> "men" -> "man").
// It does NOT remove stopwords or apply synonyms: those belong to QRW's run-time dictionaries.

const IRREGULAR: Readonly<Record<string, string>> = {
  women: 'woman',
  men: 'man',
  children: 'child',
  feet: 'foot',
  teeth: 'tooth',
  mice: 'mouse',
  geese: 'goose',
  people: 'person',
};

const APOSTROPHE = /(?<=[\p{L}\p{N}])['’](?=[\p{L}\p{N}])/gu;
const DIGIT_SEPARATOR_COMMA = /(?<=\d),(?=\d{3}(?!\d))/g;
const NON_WORD = /(?:(?<!\d)[.,]|[.,](?!\d)|[^\p{L}\p{N}\p{M}.,])+/gu;
const ALPHA = /^[a-z]+$/;

/** Folds one token's plural to its singular form (see the module comment). */
export function foldPlural(token: string): string {
  const irregular = IRREGULAR[token];
  if (irregular !== undefined) return irregular;
  if (token.length <= 3 || !ALPHA.test(token)) return token;
  let out = token;
  if (token.endsWith('ies')) {
    const before = token.charCodeAt(token.length - 4);
    out = before === 97 /* a */ || before === 101 /* e */ ? token : `${token.slice(0, -3)}y`;
  } else if (token.endsWith('sses')) {
    out = token.slice(0, -2);
  } else if (
    token.endsWith('xes') ||
    token.endsWith('ches') ||
    token.endsWith('shes') ||
    token.endsWith('zzes')
  ) {
    out = token.slice(0, -2);
  } else if (token.endsWith('ss') || token.endsWith('us') || token.endsWith('is')) {
    out = token;
  } else if (token.endsWith('s')) {
    out = token.slice(0, -1);
  }
  return IRREGULAR[out] ?? out;
}

/** Text -> normalized tokens. The same input always gives the same tokens. */
export function tokenize(text: string): string[] {
  let s = text.normalize('NFKC').toLowerCase();
  if (s.includes('ß')) s = s.replaceAll('ß', 'ss');
  if (s.includes('ς')) s = s.replaceAll('ς', 'σ');
  s = s.replace(APOSTROPHE, '').replace(DIGIT_SEPARATOR_COMMA, '').replace(NON_WORD, ' ');
  const tokens: string[] = [];
  for (const raw of s.split(' ')) {
    if (raw === '') continue;
    const t = stripEdgeSeparators(raw);
    if (t !== '') tokens.push(foldPlural(t));
  }
  return tokens;
}

/** Text -> normalized tokens joined by one space. Idempotent: normalize(normalize(x)) === normalize(x). */
export function normalize(text: string): string {
  return tokenize(text).join(' ');
}

function stripEdgeSeparators(t: string): string {
  let start = 0;
  let end = t.length;
  while (start < end && (t[start] === '.' || t[start] === ',')) start++;
  while (end > start && (t[end - 1] === '.' || t[end - 1] === ',')) end--;
  return start === 0 && end === t.length ? t : t.slice(start, end);
}
