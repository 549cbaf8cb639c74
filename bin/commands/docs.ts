// `imatch docs api [--out FILE] [--check]`: writes docs/api.md, the HTTP API reference of every
// service, generated from each service's OpenAPI document (GET /openapi.json, built by the service
// shell from the schemas its routes validate with) and its metric registry.
//
// How: each service's app is built with its real buildApp (never listening) on stand-in
// dependencies that no handler is ever called with (bin/docs/stand-in-apps.ts), and asked for its
// document with inject(). Routes that exist only behind a setting (test clock, debug dump) are
// found by building the app a second time with that setting on, and marked as such.
// `--check` writes nothing and exits 1 when the file is not what the generator would write (CI
// and bin/commands/docs.test.ts use it to keep the committed file current).
//
// Runs once, synchronously per service, on the main thread; nothing here is on a request path.
import { readFile, writeFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { METRIC_PREFIX } from '../../core/service-metrics.js';
import { standInApps } from '../docs/stand-in-apps.js';

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
  name: keyof typeof METRIC_PREFIX;
  command: string;
  intro: string;
  routes: RouteDoc[];
  metrics: MetricDoc[];
  /** Schemas a route refers to but validates in its handler, rendered after the routes. */
  extra?: { title: string; text: string; schemas: [name: string, schema: JsonSchema][] };
}

/** The OpenAPI document an app serves at /openapi.json (the app is built, asked, closed). */
export async function openApiOf(app: FastifyInstance): Promise<OpenApiDocument> {
  try {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
    return res.json() as OpenApiDocument;
  } finally {
    await app.close();
  }
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** `value` with every `{$ref: '#/components/schemas/X'}` replaced by the schema it names. */
function inlineRefs(value: unknown, schemas: Record<string, JsonSchema>): unknown {
  if (Array.isArray(value)) return value.map((v) => inlineRefs(v, schemas));
  if (value === null || typeof value !== 'object') return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const target = schemas[ref.slice('#/components/schemas/'.length)];
    if (target !== undefined) return inlineRefs(target, schemas);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inlineRefs(v, schemas)]));
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
}

const PARAMETER_PARTS: Record<string, string> = { path: 'params', query: 'querystring', header: 'headers' };

/** The routes of an OpenAPI document, each with its parts as JSON schemas (the renderer's input). */
export function routesOf(document: OpenApiDocument): RouteDoc[] {
  const doc = inlineRefs(document, document.components?.schemas ?? {}) as OpenApiDocument;
  const routes: RouteDoc[] = [];
  for (const [url, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const schema: JsonSchema = {};
      if (op.summary !== undefined) schema.summary = op.summary;
      if (op.description !== undefined) schema.description = op.description;
      for (const p of op.parameters ?? []) {
        const part = PARAMETER_PARTS[p.in];
        if (part === undefined) continue;
        if (schema[part] === undefined) schema[part] = { type: 'object', properties: {}, required: [] };
        const obj = schema[part] as { properties: JsonSchema; required: string[] };
        obj.properties[p.name] =
          p.description === undefined ? p.schema : { ...p.schema, description: p.description };
        if (p.required === true) obj.required.push(p.name);
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body !== undefined) schema.body = body;
      const response: JsonSchema = {};
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        const content = r.content?.['application/json']?.schema;
        if (content !== undefined) response[status] = content;
      }
      if (Object.keys(response).length > 0) schema.response = response;
      routes.push({ method: method.toUpperCase(), url, schema });
    }
  }
  return routes;
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

/** Every service's routes (from its OpenAPI document) and metrics. */
export async function collectServices(): Promise<ServiceDoc[]> {
  const services: ServiceDoc[] = [];
  for (const s of await standInApps()) {
    const routes = routesOf(await openApiOf(s.build(false)));
    if (s.variantSetting !== undefined) {
      const seen = new Set(routes.map((r) => `${r.method} ${r.url}`));
      for (const r of routesOf(await openApiOf(s.build(true))))
        if (!seen.has(`${r.method} ${r.url}`)) routes.push({ ...r, onlyWith: s.variantSetting });
    }
    services.push({
      name: s.name,
      command: s.command,
      intro: s.intro,
      routes,
      metrics: metricsOf(s.registry()),
      ...(s.extra === undefined ? {} : { extra: s.extra }),
    });
  }
  return services;
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
      `Besides these, the default Node.js process metrics of prom-client, prefixed \`${METRIC_PREFIX[s.name]}\` like every metric of the service.`,
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
  // OpenAPI 3.0 writes a union with null as `nullable: true`.
  return schema.nullable === true ? `${bits.join(' ')} | null` : bits.join(' ');
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
