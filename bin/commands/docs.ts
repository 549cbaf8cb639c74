// `imatch docs api [--out FILE] [--check]`: writes docs/api.md, the HTTP API reference of every
// service, generated from the services' own route schemas and metric registries.
//
// How: each service's app is built with its real buildApp (never listening) on stand-in
// dependencies that no handler is ever called with, so only the route table and the metrics
// registry are read. Routes are collected through fastify's 'fastify.initialization' diagnostics
// channel (published once per new instance) by an onRoute hook, so every route appears with the
// schema its validator uses. Routes that exist only behind a setting (test clock, debug dump) are
// found by building the app a second time with that setting on, and marked as such.
// `--check` writes nothing and exits 1 when the file is not what the generator would write (CI
// and bin/commands/docs.test.ts use it to keep the committed file current).
//
// Runs once, synchronously per service, on the main thread; nothing here is on a request path.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile, writeFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { addConfigOptions, loadConfig } from '../../core/config.js';

const DocsConfig = Type.Object(
  {
    out: Type.String({ default: 'docs/api.md', minLength: 1, description: 'File to write' }),
    check: Type.Boolean({
      default: false,
      description: 'Write nothing; exit 1 when the file is not up to date',
    }),
  },
  { additionalProperties: false },
);

export function register(program: Command): void {
  const docs = program.command('docs').description('Generate the reference documentation');
  addConfigOptions(
    docs
      .command('api')
      .description('Write the HTTP API reference (docs/api.md) from the route schemas and metric registries'),
    DocsConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(DocsConfig, { flags, env: process.env });
    const text = await apiReference();
    if (config.check) {
      const current = await readFile(config.out, 'utf8').catch(() => '');
      if (current !== text) {
        process.stderr.write(`${config.out} is out of date: run \`imatch docs api\` and commit it\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${config.out} is up to date\n`);
      return;
    }
    await writeFile(config.out, text);
    process.stdout.write(`wrote ${config.out}\n`);
  });
}

// ---- collecting ------------------------------------------------------------------------------

type JsonSchema = Record<string, unknown>;

export interface RouteDoc {
  method: string;
  url: string;
  schema: JsonSchema;
  /** Set when the route exists only with this setting on. */
  onlyWith?: string;
}

export interface MetricDoc {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

interface ServiceDoc {
  name: string;
  command: string;
  intro: string;
  routes: RouteDoc[];
  metrics: MetricDoc[];
  /** Schemas a route refers to but validates in its handler, rendered after the routes. */
  extra?: { title: string; text: string; schemas: [name: string, schema: JsonSchema][] };
}

/** Builds an app and returns every route it registers (HEAD twins of GET routes left out). */
export async function collectRoutes(build: () => FastifyInstance): Promise<RouteDoc[]> {
  const routes: RouteDoc[] = [];
  const onInit = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue;
        routes.push({ method, url: route.url, schema: (route.schema ?? {}) as JsonSchema });
      }
    });
  };
  subscribe('fastify.initialization', onInit);
  let app: FastifyInstance;
  try {
    app = build();
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  await app.ready(); // routes registered inside plugins are added here
  await app.close();
  return routes;
}

/** The routes of the base build, plus those only the variant build has (marked with `setting`). */
async function withVariant(
  base: () => FastifyInstance,
  variant: () => FastifyInstance,
  setting: string,
): Promise<RouteDoc[]> {
  const a = await collectRoutes(base);
  const b = await collectRoutes(variant);
  const key = (r: RouteDoc) => `${r.method} ${r.url}`;
  const seen = new Set(a.map(key));
  return [...a, ...b.filter((r) => !seen.has(key(r))).map((r) => ({ ...r, onlyWith: setting }))];
}

function metricsOf(registry: Registry): MetricDoc[] {
  return registry
    .getMetricsAsArray()
    .map((m) => {
      const metric = m as unknown as { name: string; help: string; type: string; labelNames?: string[] };
      return {
        name: metric.name,
        type: metric.type,
        help: metric.help,
        labels: [...(metric.labelNames ?? [])],
      };
    })
    .sort((x, y) => x.name.localeCompare(y.name));
}

/** Every service's routes and metrics (imports the services lazily: only this command needs them). */
export async function collectServices(): Promise<ServiceDoc[]> {
  const { silentLogger } = await import('../../core/logger.js');
  const { parseClickKeys } = await import('../../core/click-token.js');
  const { OffsetClock } = await import('../../core/clock.js');
  const log = silentLogger();
  // A fixed, valid keyring: the apps parse it; no token is ever made with it here.
  const keyring = parseClickKeys([`1:${'00'.repeat(32)}`]);
  const services: ServiceDoc[] = [];

  {
    const { buildApp } = await import('../../services/blender/app.js');
    const { createBlenderMetrics } = await import('../../services/blender/metrics.js');
    const { RuntimeSettings } = await import('../../services/blender/runtime-config.js');
    const metrics = createBlenderMetrics({ processMetrics: false });
    const build = () =>
      buildApp(
        { clickBaseUrl: 'http://127.0.0.1:8081', textExpansion: true },
        {
          merger: unused('merger client'),
          pvLog: unused('page-view log'),
          runtime: new RuntimeSettings({ reserveMicros: 10_000, stepMicros: 10_000 }, log),
          keyring,
          metrics,
          log,
        },
      );
    services.push({
      name: 'blender',
      command: 'imatch blender',
      intro:
        'The public ad query API (DESIGN.md "Ad query"): query rewrite, n+1 ads from a merger, GSP prices, click URLs, one page-view record per answer. Semantics, worked pricing examples and the click-token format: [api-blender.md](api-blender.md). Port 8080 in `imatch start` and compose.yaml.',
      routes: await collectRoutes(build),
      metrics: metricsOf(metrics.registry),
    });
  }
  {
    const { buildApp } = await import('../../services/merger/app.js');
    const { Balancer } = await import('../../services/merger/balancer.js');
    const { MergerMetrics } = await import('../../services/merger/metrics.js');
    const balancer = new Balancer({
      clientFactory: unused('searcher client'),
      backoffMs: 500,
      maxBackoffMs: 5000,
    });
    const metrics = new MergerMetrics(balancer, { defaultMetrics: false });
    const build = () =>
      buildApp(
        { deadlineMs: 100, attemptTimeoutMs: 50, minRetryMs: 5, perCustomerMax: 2 },
        { log, balancer, metrics },
      );
    services.push({
      name: 'merger',
      command: 'imatch merger',
      intro:
        'Fans a query out to one healthy replica of every column, merges, applies CDistinct (at most k ads per customer), P4PNormalSort and FieldFormatSort, and reports coverage. Called by blenders; contract in core/merge-contract.ts. Internal (port 8083 in `imatch start`).',
      routes: await collectRoutes(build),
      metrics: metricsOf(metrics.registry),
    });
  }
  {
    const { buildApp, createSearcherState } = await import('../../services/searcher/app.js');
    const { isUpdateMetrics } = await import('../../services/searcher/isupdate/metrics.js');
    const state = createSearcherState({ column: 0 }, { log, processMetrics: false });
    isUpdateMetrics(state.metrics.registry);
    const build = (debug: boolean) => () =>
      buildApp({ column: 0, replica: 'r0', debugEndpoints: debug }, { ...state, log });
    services.push({
      name: 'searcher',
      command: 'imatch searcher',
      intro:
        "One replica of one column: bidword retrieval (exact, phrase, broad), negatives, filters, text expansion, ranking, top-K over the column's segment plus the changes isupdate applied. Called by mergers; contract in core/search-contract.ts. Internal (ports 8090+ in `imatch start`).",
      routes: await withVariant(build(false), build(true), '--debug-endpoints true'),
      metrics: metricsOf(state.metrics.registry),
    });
  }
  {
    const { buildApp } = await import('../../dispatch/app.js');
    const model = await import('../../core/model.js');
    const { createDispatchMetrics } = await import('../../dispatch/metrics.js');
    const metrics = createDispatchMetrics({ processMetrics: false });
    const build = () =>
      buildApp(
        { secret: 'x'.repeat(16) },
        {
          writer: { pending: 0, submit: unused('change writer') },
          leadership: { state: () => ({ leader: true, term: 1, leaderUrl: undefined }) },
          metrics,
          log,
        },
      );
    services.push({
      name: 'dispatch',
      command: 'imatch dispatch',
      intro:
        'The advertiser platform\'s entry point for changes (DESIGN.md "Change message"): validates a whole batch, gives each change a unique increasing message id, makes it durable in Kafka, then answers. Send `Authorization: Bearer <secret>`. A follower answers 503 with the leader\'s URL. Port 8082 in `imatch start` and compose.yaml.',
      routes: await collectRoutes(build),
      metrics: metricsOf(metrics.registry),
      extra: {
        title: 'The elements of `changes`',
        text: 'Each element is `{"entity": "customer"|"offer"|"bidword", "op": "upsert", "data": <the whole entity>}` or `{"entity": ..., "op": "delete", "data": {"id": ...}}`, validated by dispatch/validate.ts against core/model.ts `Change` (plus the bidword rules of `bidwordProblem`: negatives carry no bid, positives need one). One bad element rejects the whole batch with 400 `IM_ERR_BAD_CHANGE` naming every problem, and nothing is written. The entities (the same as in a BP snapshot, [data-format.md](data-format.md)):',
        schemas: [
          ['customer', model.Customer as unknown as JsonSchema],
          ['offer', model.Offer as unknown as JsonSchema],
          ['bidword', model.Bidword as unknown as JsonSchema],
        ],
      },
    });
  }
  {
    const { buildApp, defaultSettings } = await import('../../click-filter/app.js');
    const { ClickFilterConfig } = await import('../../click-filter/config.js');
    let registry: Registry | undefined;
    const build = (testClock: boolean) => () => {
      const config = loadConfig(ClickFilterConfig, {
        flags: { clickKeys: [`1:${'00'.repeat(32)}`], testClockEndpoint: testClock },
      });
      const built = buildApp(config, {
        log,
        keyring,
        clock: new OffsetClock(0),
        decisions: unused('decision log'),
        settings: { current: defaultSettings(config), loaded: true },
        instance: 'docs',
        processMetrics: false,
      });
      registry ??= built.metrics.registry;
      return built.app;
    };
    const routes = await withVariant(build(false), build(true), '--test-clock-endpoint true');
    services.push({
      name: 'click-filter',
      command: 'imatch click-filter',
      intro:
        'Where click URLs lead: decrypts and verifies the token, runs the filter rules, writes every decision (and a settlement record for a billable click) to Kafka, then redirects to the landing page. A tampered or malformed token gets a 400 page and never a redirect. Rules and reasons: [clicks-and-billing.md](clicks-and-billing.md). Port 8081 in `imatch start` and compose.yaml.',
      routes,
      metrics: registry === undefined ? [] : metricsOf(registry),
    });
  }
  {
    const { buildApp } = await import('../../billing/app.js');
    const { BillingConfig } = await import('../../billing/config.js');
    const { createBillingMetrics } = await import('../../billing/metrics.js');
    const metrics = createBillingMetrics(unused('ledger'), false);
    const build = (testClock: boolean) => () =>
      buildApp(loadConfig(BillingConfig, { flags: { testClockEndpoint: testClock } }), {
        log,
        ledger: unused('ledger'),
        keeper: unused('budget keeper'),
        clock: new OffsetClock(0),
        metrics,
        readiness: () => undefined,
      });
    services.push({
      name: 'billing',
      command: 'imatch billing',
      intro:
        "Consumes settlement and corrections into an idempotent ledger, keeps each customer's daily spend, and takes customers offline (and online again) through dispatch when a budget is reached. The HTTP side is a read-only spend report plus health and metrics; `imatch spend` reads the same report. Port 8084 in `imatch start` and compose.yaml.",
      routes: await withVariant(build(false), build(true), '--test-clock-endpoint true'),
      metrics: metricsOf(metrics.registry),
    });
  }
  return services;
}

/**
 * A stand-in for a dependency no handler is called with while the route table is read. Any use
 * throws, so a buildApp that starts calling a dependency at construction time fails loudly here.
 */
function unused<T>(what: string): T {
  return new Proxy({} as object, {
    get: (_t, prop) => {
      if (prop === 'then') return undefined; // not a thenable
      throw new Error(`docs: the ${what} was used while building the app (property ${String(prop)})`);
    },
  }) as T;
}

// ---- rendering -------------------------------------------------------------------------------

export async function apiReference(): Promise<string> {
  return renderReference(await collectServices());
}

const PARTS: [key: string, title: string][] = [
  ['params', 'Path parameters'],
  ['querystring', 'Query parameters'],
  ['headers', 'Headers'],
  ['body', 'Request body'],
];

export function renderReference(services: ServiceDoc[]): string {
  const out: string[] = [
    '# HTTP API reference',
    '',
    '<!-- Generated by `imatch docs api` (bin/commands/docs.ts) from the route schemas and metric',
    '     registries of each service. Do not edit by hand: change the schema, then regenerate. -->',
    '',
    'Every service answers JSON, validates query, body and headers against the schemas below before any handler runs, and answers errors as `{statusCode, code, error, message}` with the codes of core/errors.ts (for example `IM_ERR_BAD_QUERY`, `IM_ERR_NOT_READY`). `/healthz` says the process is alive, `/readyz` says it should get traffic (503 with the reason and `Retry-After` otherwise), `/metrics` is Prometheus text. How the services fit together: [architecture.md](architecture.md).',
    '',
    ...table(
      ['Service', 'Command', 'Routes'],
      services.map((s) => [
        `[${s.name}](#${s.name})`,
        `\`${s.command}\``,
        s.routes.map((r) => `\`${r.method} ${r.url}\``).join(', '),
      ]),
    ),
  ];
  for (const s of services) {
    out.push('', `## ${s.name}`, '', s.intro);
    for (const r of s.routes) out.push(...renderRoute(r));
    if (s.extra !== undefined) {
      out.push('', `### ${s.extra.title}`, '', s.extra.text);
      for (const [name, schema] of s.extra.schemas) out.push('', `\`${name}\`:`, '', ...fieldTable(schema));
    }
    out.push('', `### Metrics of the ${s.name}`, '');
    out.push(
      s.name === 'merger'
        ? 'Besides these, the default Node.js process metrics of prom-client (`process_*`, `nodejs_*`, no prefix).'
        : `Besides these, the default Node.js process metrics of prom-client, prefixed \`imatch_${s.name.replace('-', '_')}_\`.`,
      '',
      ...table(
        ['Metric', 'Type', 'Labels', 'Meaning'],
        s.metrics.map((m) => [
          `\`${m.name}\``,
          m.type,
          m.labels.map((l) => `\`${l}\``).join(', '),
          cell(m.help),
        ]),
      ),
    );
  }
  out.push('');
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

function renderRoute(route: RouteDoc): string[] {
  const out = ['', `### \`${route.method} ${route.url}\``, ''];
  const { hide: _hide, response, summary, description, tags: _tags, ...parts } = route.schema;
  if (route.onlyWith !== undefined)
    out.push(`Only when the service runs with \`${route.onlyWith}\` (tests and audits).`, '');
  for (const text of [summary, description]) if (typeof text === 'string') out.push(text, '');
  for (const [key, title] of PARTS) {
    const schema = parts[key] as JsonSchema | undefined;
    if (schema === undefined) continue;
    out.push(`${title}:`, '', ...fieldTable(schema), '');
  }
  const responses = (response ?? {}) as Record<string, JsonSchema>;
  if (Object.keys(responses).length === 0) out.push('Responses: not described by a schema.', '');
  // Statuses with the same schema (typically the error body) share one entry.
  const groups = new Map<string, { statuses: string[]; schema: JsonSchema }>();
  for (const [status, schema] of Object.entries(responses)) {
    const key = JSON.stringify(schema);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { statuses: [status], schema });
    else group.statuses.push(status);
  }
  for (const { statuses, schema } of groups.values()) {
    const head = `Response${statuses.length > 1 ? 's' : ''} ${statuses.join(', ')}`;
    const props = Object.keys((schema.properties as JsonSchema | undefined) ?? {});
    if (['statusCode', 'code', 'error', 'message'].every((k) => props.includes(k))) {
      out.push(`${head}: the error body \`{statusCode, code, error, message}\`.`, '');
      continue;
    }
    const what = typeof schema.description === 'string' ? ` ${schema.description}` : '';
    if (fieldRows(schema, '').length === 0) out.push(`${head}: \`${typeText(schema)}\`.${what}`, '');
    else out.push(`${head}:${what}`, '', ...fieldTable(schema), '');
  }
  if (Object.keys(parts).length === 0 && response === undefined) return out;
  out.push(
    '<details><summary>JSON schemas</summary>',
    '',
    '```json',
    jsonText({ ...parts, ...(response === undefined ? {} : { response }) }),
    '```',
    '',
    '</details>',
  );
  return out;
}

function fieldTable(schema: JsonSchema): string[] {
  const rows = fieldRows(schema, '');
  if (rows.length === 0) return [`\`${typeText(schema)}\``];
  return table(['Field', 'Type', 'Required', 'Description'], rows);
}

/** A markdown table with aligned columns (the layout biome's markdown formatter gives). */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Table rows of an object schema, nested objects and arrays of objects flattened (a.b, a[].b). */
function fieldRows(schema: JsonSchema, prefix: string, depth = 0): string[][] {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (schema.type !== 'object' || props === undefined || depth > 3) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows: string[][] = [];
  for (const [name, prop] of Object.entries(props)) {
    const path = `${prefix}${name}`;
    rows.push([
      `\`${path}\``,
      `\`${codeCell(typeText(prop))}\``,
      required.has(name) ? 'yes' : 'no',
      cell(describe(prop)),
    ]);
    const items = prop.items as JsonSchema | undefined;
    if (prop.type === 'object') rows.push(...fieldRows(prop, `${path}.`, depth + 1));
    else if (prop.type === 'array' && items !== undefined)
      rows.push(...fieldRows(items, `${path}[].`, depth + 1));
  }
  return rows;
}

/**
 * JSON with 2-space indents as biome formats it in a markdown code block (biome formats docs/):
 * objects one member per line, arrays of plain values on one line when that line fits in 110
 * columns (trailing comma included), otherwise one element per line.
 */
export function jsonText(value: unknown, indent = '', lead = 0, trailing = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const flat = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
      if (lead + flat.length + trailing <= 110) return flat;
    }
    const items = value.map(
      (v, i) => `${inner}${jsonText(v, inner, inner.length, i < value.length - 1 ? 1 : 0)}`,
    );
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const members = entries.map(([k, v], i) => {
    const key = `${inner}${JSON.stringify(k)}: `;
    return `${key}${jsonText(v, inner, key.length, i < entries.length - 1 ? 1 : 0)}`;
  });
  return `{\n${members.join(',\n')}\n${indent}}`;
}

/** A short type: `integer 1..20`, `"exact" \| "phrase"`, `array of string`, `string /^a$/`. */
export function typeText(schema: JsonSchema): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union !== undefined) return union.map(typeText).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type as string | undefined);
  if (type === undefined) return 'any';
  const bits: string[] = [type];
  if (type === 'array' && schema.items !== undefined)
    bits[0] = `array of ${typeText(schema.items as JsonSchema)}`;
  const range = (lo: unknown, hi: unknown) =>
    lo !== undefined && hi !== undefined
      ? `${lo}..${hi}`
      : lo !== undefined
        ? `>= ${lo}`
        : hi !== undefined
          ? `<= ${hi}`
          : '';
  const numeric = range(schema.minimum, schema.maximum);
  if (numeric !== '') bits.push(numeric);
  if (schema.exclusiveMinimum !== undefined) bits.push(`> ${schema.exclusiveMinimum}`);
  if (schema.exclusiveMaximum !== undefined) bits.push(`< ${schema.exclusiveMaximum}`);
  const length = range(schema.minLength, schema.maxLength);
  if (length !== '') bits.push(`length ${length}`);
  const items = range(schema.minItems, schema.maxItems);
  if (items !== '') bits.push(`items ${items}`);
  if (typeof schema.format === 'string') bits.push(`(${schema.format})`);
  if (typeof schema.pattern === 'string') bits.push(`/${schema.pattern}/`);
  return bits.join(' ');
}

function describe(schema: JsonSchema): string {
  const text = typeof schema.description === 'string' ? schema.description : '';
  return schema.default === undefined || /default/i.test(text)
    ? text
    : `${text}${text === '' ? '' : ' '}(default ${JSON.stringify(schema.default)})`;
}

/** Text safe inside a markdown table cell. */
function cell(text: string): string {
  return codeCell(text).replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text safe inside a code span in a markdown table cell (entities would show literally there). */
function codeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
