// The generator's vocabulary: taxonomy.ts's hand-curated departments and leaves, parsed and
// weighted, plus word lists from @faker-js/faker's English locale (brand and company words from
// its surnames and legal entity types, colors, commerce materials and style adjectives, food
// words for grocery titles, car makes for automotive fitment, city names for queries that must
// find no ads). Built once per process on first use, immutable afterwards, shared by every
// stream. The faker version is pinned, so the same seed gives the same words.
import { faker } from '@faker-js/faker/locale/en';
import { tokenize } from '../../core/normalize.js';
import { AUDIENCE_OVERRIDES, type Audience, DEPARTMENTS, type DepartmentDef } from './taxonomy.js';
import { WeightedTable, zipfWeights } from './zipf.js';

export interface Leaf {
  /** Category path, e.g. "shoes/outdoor/hiking-boots". */
  readonly path: string;
  readonly dept: Department;
  /** Product nouns as they appear in titles; may hold {fruit} {spice} {vegetable} {make}. */
  readonly nouns: readonly string[];
  readonly features: readonly string[];
  readonly specs: readonly string[];
  /** Materials that fit this leaf (may be empty). */
  readonly materials: readonly string[];
  /** Who the products are for ("Women's ..."): the department's, unless overridden. */
  readonly audience: Audience;
  /** Share of searches (and offers) that go to this leaf, relative to all leaves. */
  readonly weight: number;
}

export interface Department {
  readonly slug: string;
  readonly label: string;
  readonly weight: number;
  readonly bidScale: number;
  readonly audience: Audience;
  readonly colors: boolean;
  readonly styles: readonly string[];
  readonly leaves: readonly Leaf[];
  /** Zipf(0.8) over this department's leaves, in listed order. */
  readonly leafTable: WeightedTable;
}

export interface Vocabulary {
  readonly departments: readonly Department[];
  readonly deptTable: WeightedTable;
  readonly leaves: readonly Leaf[];
  readonly leafTable: WeightedTable;
  readonly brands: readonly string[];
  readonly legalTypes: readonly string[];
  readonly shopWords: readonly string[];
  readonly colors: readonly string[];
  readonly fill: Readonly<Record<'fruit' | 'spice' | 'vegetable' | 'make', readonly string[]>>;
  readonly regions: readonly string[];
  readonly regionTable: WeightedTable;
  /** Templates ("{city} weather") whose fixed words appear in no title or keyword. */
  readonly noAdTemplates: readonly string[];
  /** faker city names none of whose words appear in a title or keyword. */
  readonly noAdCities: readonly string[];
  /** Every normalized token a title or positive keyword can contain. */
  readonly tokens: ReadonlySet<string>;
}

/** Within-department leaf popularity exponent (first listed leaf is the most popular). */
export const LEAF_ZIPF_S = 0.8;

// Audiences as they appear in titles. Adult departments never say Kids'.
export const AUDIENCES: Readonly<Record<Audience, readonly string[]>> = {
  adult: ["Women's", "Men's", 'Unisex'],
  all: ["Women's", "Men's", 'Unisex', "Kids'", "Boys'", "Girls'"],
  women: ["Women's"],
  men: ["Men's"],
  none: [],
};

// Country codes with their rough share of traffic; the head is what a global marketplace sees.
const REGION_WEIGHTS: readonly (readonly [string, number])[] = [
  ['US', 30],
  ['GB', 8],
  ['DE', 8],
  ['FR', 6],
  ['JP', 5],
  ['CA', 4],
  ['IT', 4],
  ['ES', 4],
  ['AU', 3],
  ['NL', 3],
  ['BR', 3],
  ['MX', 2],
  ['IN', 3],
  ['KR', 2],
  ['SE', 1.5],
  ['PL', 1.5],
  ['CH', 1],
  ['BE', 1],
  ['AT', 1],
  ['SG', 1],
  ['AE', 1],
  ['TR', 1],
  ['IE', 0.7],
  ['DK', 0.7],
  ['NO', 0.7],
  ['NZ', 0.5],
  ['PT', 0.5],
  ['CN', 2],
  ['HK', 0.5],
  ['ZA', 0.5],
];

// Colors that sell: faker's human color names plus the apparel and home staples it lacks.
const EXTRA_COLORS = [
  'Beige',
  'Brown',
  'Navy',
  'Charcoal',
  'Burgundy',
  'Khaki',
  'Cream',
  'Rose Gold',
  'Clear',
  'Multicolor',
];
const SKIP_COLORS = new Set(['azure', 'fuchsia', 'orchid', 'plum', 'salmon', 'lime', 'magenta', 'indigo']);

const SHOP_WORDS = [
  'Co.',
  'Store',
  'Supply',
  'Direct',
  'Outlet',
  'Shop',
  'Goods',
  'Trading',
  'Works',
  'Market',
];

// faker food entries that read oddly inside a product title.
const SKIP_FOOD = new Set([
  'bbq',
  'rice paper',
  'balti stir fry mix',
  'china star',
  'colombo',
  'poudre de colombo',
  'dhansak',
  'jalfrezi',
  'korma',
  'rogan josh',
  'tagine',
  'mango',
  'orange zest',
  'pimento',
  'rose baie',
  'zahtar',
  'jerk',
  'methi',
  'dried apricot',
  'bush tomato',
  'cavalo',
  'corella pear',
  'papaw',
  'jarrahdale pumpkin',
  'fingerlime',
  'incaberry',
  'butternut pumpkin',
  'custard apple',
  'rockmelon',
  'olive',
  'date',
  'dried chinese broccoli',
  'sun dried tomatoes',
  'fresh chillies',
  'bean shoots',
  'snowpea sprouts',
  'carob carrot',
  'capers',
  'cornichons',
  'french eschallots',
  'hijiki',
]);

// Which of faker's commerce materials fit which department.
const FAKER_MATERIALS_BY_DEPT: Readonly<Record<string, readonly string[]>> = {
  home: ['Bamboo', 'Ceramic', 'Marble', 'Wooden', 'Bronze'],
  kitchen: ['Bamboo', 'Ceramic', 'Marble', 'Wooden', 'Granite'],
  garden: ['Bamboo', 'Ceramic', 'Concrete', 'Wooden', 'Bronze'],
  office: ['Bamboo', 'Wooden', 'Marble'],
};

let cached: Vocabulary | undefined;

/** The vocabulary (built on first call). */
export function vocabulary(): Vocabulary {
  cached ??= build();
  return cached;
}

function build(): Vocabulary {
  const raw = faker.rawDefinitions;
  const need = <T>(value: T | null | undefined, what: string): T => {
    if (value === undefined || value === null) throw new Error(`@faker-js/faker en locale lacks ${what}`);
    return value;
  };
  const lastNames = need(raw.person?.last_name, 'person.last_name');
  // The en locale keeps surnames under "generic"; older layouts had a plain list.
  const surnames: readonly string[] = Array.isArray(lastNames)
    ? (lastNames as string[])
    : need((lastNames as { generic?: string[] | null }).generic, 'person.last_name.generic');
  const brands = surnames.filter((n) => /^[A-Z][a-z]+$/.test(n));
  // faker's types do not list this key, although the en locale has it.
  const company = raw.company as { legal_entity_type?: string[] } | undefined;
  const legalTypes = need(company?.legal_entity_type, 'company.legal_entity_type');
  const humanColors = need(raw.color?.human, 'color.human');
  const colors = [
    ...humanColors.filter((c) => !SKIP_COLORS.has(c)).map(titleCase),
    ...EXTRA_COLORS.filter((c) => !humanColors.includes(c.toLowerCase())),
  ];
  const fakerMaterials = need(raw.commerce?.product_name?.material, 'commerce.product_name.material');
  const fakerStyles = need(raw.commerce?.product_name?.adjective, 'commerce.product_name.adjective');
  const food = (list: readonly string[] | null | undefined, what: string) =>
    need(list, what)
      .filter((w) => !SKIP_FOOD.has(w) && /^[a-z ]+$/.test(w))
      .map(titleCase);
  const fill = {
    fruit: food(raw.food?.fruit, 'food.fruit'),
    spice: food(raw.food?.spice, 'food.spice'),
    vegetable: food(raw.food?.vegetable, 'food.vegetable'),
    make: need(raw.vehicle?.manufacturer, 'vehicle.manufacturer').filter((m) => /^[A-Za-z ]+$/.test(m)),
  };

  const leaves: Leaf[] = [];
  const departments: Department[] = [];
  const deptTotal = DEPARTMENTS.reduce((s, d) => s + d.weight, 0);
  for (const def of DEPARTMENTS) {
    const dept = parseDepartment(def, fakerMaterials, fakerStyles, deptTotal);
    departments.push(dept);
    leaves.push(...dept.leaves);
  }
  const regions = REGION_WEIGHTS.map(([code]) => code);
  const cities = need(raw.location?.city_name, 'location.city_name');

  const tokens = new Set<string>();
  const addTokens = (text: string) => {
    for (const t of tokenize(text)) tokens.add(t);
  };
  for (const leaf of leaves) {
    for (const part of [...leaf.nouns, ...leaf.features, ...leaf.specs, leaf.path]) addTokens(part);
    for (const part of [...leaf.materials, ...leaf.dept.styles, leaf.dept.label]) addTokens(part);
  }
  for (const list of [
    brands,
    colors,
    fill.fruit,
    fill.spice,
    fill.vegetable,
    fill.make,
    legalTypes,
    SHOP_WORDS,
  ])
    for (const w of list) addTokens(w);
  for (const list of [AUDIENCES.adult, AUDIENCES.all]) for (const w of list) addTokens(w);
  // A no-ad template survives only if none of its own words can be in a bidword.
  const noAdTemplates = NO_AD_TEMPLATES.filter((t) =>
    tokenize(t.replace('{city}', '')).every((tok) => !tokens.has(tok)),
  );
  const noAdCities = cities.filter(
    (c) => /^[A-Za-z ]+$/.test(c) && tokenize(c).every((tok) => !tokens.has(tok)),
  );
  if (noAdTemplates.length < 4 || noAdCities.length < 100)
    throw new Error('vocabulary: too few words left for queries without ads');

  return {
    departments,
    deptTable: new WeightedTable(departments.map((d) => d.weight)),
    leaves,
    leafTable: new WeightedTable(leaves.map((l) => l.weight)),
    brands,
    legalTypes,
    shopWords: SHOP_WORDS,
    colors,
    fill,
    regions,
    regionTable: new WeightedTable(REGION_WEIGHTS.map(([, w]) => w)),
    noAdTemplates,
    noAdCities,
    tokens,
  };
}

function parseDepartment(
  def: DepartmentDef,
  fakerMaterials: readonly string[],
  fakerStyles: readonly string[],
  deptTotal: number,
): Department {
  const materials = splitTop(def.materials);
  // Faker's commerce materials join where they make sense for the department.
  const fitting = FAKER_MATERIALS_BY_DEPT[def.slug] ?? [];
  for (const m of fakerMaterials) if (fitting.includes(m) && !materials.includes(m)) materials.push(m);
  const styles = splitTop(def.styles).filter((s) => fakerStyles.includes(s));
  const zipf = zipfWeights(def.leaves.length, LEAF_ZIPF_S);
  let zipfSum = 0;
  for (const w of zipf) zipfSum += w;
  const dept = {
    slug: def.slug,
    label: def.label,
    weight: def.weight,
    bidScale: def.bidScale,
    audience: def.audience,
    colors: def.colors,
    styles,
    leaves: [] as Leaf[],
    leafTable: new WeightedTable(zipf),
  };
  const materialSubs = splitTop(def.materialSubs);
  def.leaves.forEach((line, i) => {
    const m = /^(([a-z0-9-]+)\/[a-z0-9-]+): ([^~]+)(?:~([^~]*))?(?:~([^~]*))?$/.exec(line);
    if (m === null) throw new Error(`bad taxonomy line in ${def.slug}: ${line}`);
    const path = `${def.slug}/${m[1]}`;
    const sub = m[2] ?? '';
    dept.leaves.push({
      path,
      dept,
      nouns: splitTop(m[3] ?? ''),
      features: splitTop(m[4] ?? ''),
      specs: splitTop(m[5] ?? ''),
      materials: materialSubs.includes('*') || materialSubs.includes(sub) ? materials : [],
      audience: audienceOf(path, def.audience),
      weight: ((def.weight / deptTotal) * (zipf[i] as number)) / zipfSum,
    });
  });
  return dept;
}

function audienceOf(path: string, fallback: Audience): Audience {
  let best: string | undefined;
  for (const prefix of Object.keys(AUDIENCE_OVERRIDES))
    if (
      (path === prefix || path.startsWith(`${prefix}/`)) &&
      (best === undefined || prefix.length > best.length)
    )
      best = prefix;
  return best === undefined ? fallback : (AUDIENCE_OVERRIDES[best] as Audience);
}

/** Splits "a|b{x|y}|c" on the bars outside braces, trimming each part. */
export function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === '|' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}

export function titleCase(text: string): string {
  return text.replace(/(^|[\s-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
}

/** Words shoppers put in front of a product (kept out of bidwords only when they must be). */
export const QUERY_PREFIXES = [
  'best',
  'cheap',
  'buy',
  'new',
  'top rated',
  'discount',
  'affordable',
  'premium',
];
/** Words shoppers put after a product. */
export const QUERY_SUFFIXES = [
  'for sale',
  'sale',
  'deals',
  'online',
  'near me',
  'reviews',
  'on sale',
  'clearance',
];
/** Negative keywords advertisers add to keep away from bargain hunters and repair searches. */
export const NEGATIVE_PHRASES = [
  'used',
  'refurbished',
  'free',
  'repair',
  'replacement parts',
  'diy',
  'rental',
  'wholesale',
  'second hand',
  'broken',
  'manual',
  'how to',
  'cheap',
  'recall',
];
/** Templates of searches no advertiser buys (about places, not products). */
export const NO_AD_TEMPLATES = [
  '{city} weather',
  'weather in {city}',
  'flights to {city}',
  '{city} weather forecast',
  '{city} sunrise time',
  '{city} news',
  '{city} zip code',
  'things to do in {city}',
  '{city} population',
  'hotels in {city}',
  '{city} traffic',
  'directions to {city}',
  '{city} time zone',
  '{city} restaurants',
];
