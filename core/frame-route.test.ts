// A route over frame RPC answers exactly what its HTTP twin answers: the same 400 wording for a
// body that fails the schema, the same error bodies, and it lands in the same histogram.
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ImatchError } from './errors.js';
import { frameRoute } from './frame-route.js';
import type { FrameReply } from './frame-rpc.js';
import { silentLogger } from './logger.js';
import { createServiceApp } from './service-app.js';
import { createServiceMetrics } from './service-metrics.js';

const Body = Type.Object(
  {
    query: Type.String({ minLength: 1, description: 'The query' }),
    k: Type.Integer({ minimum: 1, maximum: 100 }),
    fast: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
type Body = { query: string; k: number; fast?: boolean };

function handle(body: Body): FrameReply | Promise<FrameReply> {
  if (body.query === 'not-ready') throw new ImatchError('IM_ERR_NOT_READY', 'No index yet');
  if (body.query === 'bug') throw new Error('a bug');
  if (body.query === 'async') return Promise.resolve({ status: 200, body: JSON.stringify(body) });
  return { status: 200, body: JSON.stringify(body) };
}

function both() {
  const metrics = createServiceMetrics('searcher', { processMetrics: false });
  let bad = 0;
  const frames = frameRoute<Body>({
    path: '/x',
    schema: Body,
    metrics,
    log: silentLogger(),
    onValidationError: () => bad++,
    handle,
  });
  const app = createServiceApp(
    {
      log: silentLogger(),
      metrics,
      readiness: { schema: {}, check: () => ({ why: [] }) },
      openapi: { description: 'test' },
    },
    (scope) =>
      scope.post('/x', { schema: { body: Body } }, async (req, reply) => {
        const r = await handle(req.body as Body);
        return reply.code(r.status).type('application/json').send(r.body);
      }),
  );
  const http = async (payload: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/x',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.statusCode, body: JSON.parse(res.body) as unknown };
  };
  const frame = async (payload: string) => {
    const r = await frames(payload);
    return {
      status: r.status,
      body: JSON.parse(typeof r.body === 'string' ? r.body : r.body.join('')) as unknown,
    };
  };
  return { http, frame, metrics, bad: () => bad };
}

describe('a route over frame RPC', () => {
  it('answers what the HTTP route answers, defaults applied, for good and bad bodies', async () => {
    const { http, frame, bad } = both();
    const bodies = [
      '{"query":"shoes","k":3}',
      '{"query":"async","k":3,"fast":false}',
      '{"query":"","k":3}',
      '{"query":"shoes","k":0,"page":2}',
      '{"k":3}',
      '{"query":"not-ready","k":1}',
    ];
    for (const b of bodies) expect(await frame(b), b).toEqual(await http(b));
    expect(await frame('{"query":"shoes","k":3}')).toEqual({
      status: 200,
      body: { query: 'shoes', k: 3, fast: true },
    });
    expect((await frame('{"k":3}')).body).toMatchObject({ statusCode: 400, code: 'IM_ERR_BAD_REQUEST' });
    expect(bad()).toBe(4); // the three bad bodies above, and this one again
  });

  it('answers 400 for text that is not JSON, 500 without details for a bug', async () => {
    const { frame } = both();
    expect(await frame('{"query":')).toMatchObject({ status: 400, body: { code: 'IM_ERR_BAD_REQUEST' } });
    const bug = await frame('{"query":"bug","k":1}');
    expect(bug).toEqual({
      status: 500,
      body: {
        statusCode: 500,
        code: 'IM_ERR_INTERNAL',
        error: 'Internal Server Error',
        message: 'Internal error',
      },
    });
  });

  it('records each answer in the request histogram under FRAME <path> and its status', async () => {
    const { frame, metrics } = both();
    await frame('{"query":"shoes","k":3}');
    await frame('{"query":"async","k":3}');
    await frame('{"query":"not-ready","k":3}');
    const { values } = await metrics.requestDuration.get();
    const count = (status: string) =>
      values.find(
        (v) =>
          v.metricName?.endsWith('_count') && v.labels.route === 'FRAME /x' && v.labels.status === status,
      )?.value;
    expect(count('200')).toBe(2);
    expect(count('503')).toBe(1);
  });
});
