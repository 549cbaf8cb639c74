// The service shell: every service gets the same error bodies (with a code, and a real reason
// phrase, never "Error"), the same 404, the same /healthz, /readyz and /metrics.
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ImatchError } from './errors.js';
import type { Readiness } from './health-routes.js';
import { silentLogger } from './logger.js';
import { createServiceApp } from './service-app.js';
import { createServiceMetrics } from './service-metrics.js';

function app(ready: () => Readiness = () => ({ why: [] }), processMetrics = false) {
  const metrics = createServiceMetrics('merger', { processMetrics });
  return createServiceApp(
    {
      log: silentLogger(),
      metrics,
      readiness: { schema: { columns: Type.Integer() }, check: ready },
      openapi: { description: 'test' },
      bodyLimit: 64,
    },
    (scope) => {
      scope.post(
        '/echo',
        {
          schema: {
            body: Type.Object({ n: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
            querystring: Type.Object({ k: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
          },
        },
        async (req) => ({ body: req.body, query: req.query }),
      );
      scope.get('/boom', async () => {
        throw new Error('secret internals');
      });
      scope.get('/busy', async () => {
        throw new ImatchError('IM_ERR_OVERLOADED');
      });
    },
  );
}

describe('service shell', () => {
  it('coerces query strings but never JSON bodies, and keeps no unknown parameter', async () => {
    const a = app();
    const ok = await a.inject({ method: 'POST', url: '/echo?k=3', payload: { n: 2 } });
    expect(ok.json()).toEqual({ body: { n: 2 }, query: { k: 3 } });
    const text = await a.inject({ method: 'POST', url: '/echo', payload: { n: '2' } });
    expect(text.json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_REQUEST',
      error: 'Bad Request',
      message: 'Invalid parameter "n": must be integer',
    });
    const unknown = await a.inject({ method: 'POST', url: '/echo?x=1', payload: { n: 2 } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toBe('Unknown parameter "x". Allowed: k');
  });

  it('answers 413 and 415 with their own code and reason phrase', async () => {
    const a = app();
    const big = await a.inject({ method: 'POST', url: '/echo', payload: { n: 1, pad: 'x'.repeat(100) } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({
      statusCode: 413,
      code: 'IM_ERR_BODY_TOO_LARGE',
      error: 'Payload Too Large',
    });
    const xml = await a.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<n>1</n>',
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({
      code: 'IM_ERR_UNSUPPORTED_MEDIA_TYPE',
      error: 'Unsupported Media Type',
    });
    const broken = await a.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"n": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'IM_ERR_BAD_REQUEST', error: 'Bad Request' });
  });

  it('never leaks a 500 and sends Retry-After with a 503', async () => {
    const a = app();
    const boom = await a.inject('/boom');
    expect(boom.json()).toEqual({
      statusCode: 500,
      code: 'IM_ERR_INTERNAL',
      error: 'Internal Server Error',
      message: 'Internal error',
    });
    const busy = await a.inject('/busy');
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
  });

  it('lists the routes the app really has in a 404', async () => {
    const res = await app().inject('/nope?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe(
      'No route GET /nope. Routes: POST /echo, GET /boom, GET /busy, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json',
    );
  });

  it('is ready with the service fields, or 503 with every reason, its details and headers', async () => {
    let state: Readiness = { why: [], info: { columns: 2 } };
    const a = app(() => state);
    expect((await a.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await a.inject('/readyz')).json()).toEqual({ status: 'ready', columns: 2 });
    state = {
      why: ['a', 'b'],
      details: { leaderUrl: 'http://x' },
      headers: { 'x-imatch-leader': 'http://x' },
    };
    const no = await a.inject('/readyz');
    expect(no.statusCode).toBe(503);
    expect(no.headers['retry-after']).toBe('1');
    expect(no.headers['x-imatch-leader']).toBe('http://x');
    expect(no.json()).toEqual({
      statusCode: 503,
      code: 'IM_ERR_NOT_READY',
      error: 'Service Unavailable',
      message: 'Not ready: a, b',
      details: { leaderUrl: 'http://x' },
    });
  });

  it('names every metric with the service prefix, process metrics included', async () => {
    const a = app(undefined, true);
    await a.inject('/healthz');
    const text = (await a.inject('/metrics')).body;
    expect(text).toContain('imatch_merger_request_duration_seconds_count{route="/healthz",status="200"} 1');
    expect(text).toContain('imatch_merger_process_cpu_seconds_total');
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(names.filter((n) => !n?.startsWith('imatch_merger_'))).toEqual([]);
  });
});
