import { afterEach, describe, expect, it } from 'vitest';
import { ImatchError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { Change } from '../core/model.js';
import { buildApp } from './app.js';
import { createDispatchMetrics } from './metrics.js';
import type { LeaderState } from './writer.js';

const SECRET = 'a-long-enough-test-secret';
const customer = { id: 'c1', name: 'Acme', status: 'online', dailyBudgetMicros: 50_000_000 };

function setup(opts: { leader?: LeaderState; fail?: ImatchError } = {}) {
  const submitted: Change[][] = [];
  let next = 100;
  const state = opts.leader ?? { leader: true, term: 1, leaderUrl: 'http://127.0.0.1:1' };
  const app = buildApp(
    { secret: SECRET },
    {
      writer: {
        pending: 0,
        submit: async (changes) => {
          if (!state.leader)
            throw new ImatchError('IM_ERR_NOT_LEADER', 'not leader', {
              details: { leaderUrl: state.leaderUrl },
            });
          if (opts.fail !== undefined) throw opts.fail;
          submitted.push([...changes]);
          return changes.map(() => next++);
        },
      },
      leadership: { state: () => state },
      metrics: createDispatchMetrics({ processMetrics: false }),
      log: silentLogger(),
    },
  );
  apps.push(app);
  return { app, submitted };
}
const apps: Array<ReturnType<typeof buildApp>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const post = (app: ReturnType<typeof buildApp>, body: unknown, auth: string | null = `Bearer ${SECRET}`) =>
  app.inject({
    method: 'POST',
    url: '/v1/changes',
    headers: auth === null ? {} : { authorization: auth },
    payload: body as object,
  });

describe('POST /v1/changes', () => {
  it('answers the ids of an accepted batch', async () => {
    const { app, submitted } = setup();
    const res = await post(app, {
      changes: [
        { entity: 'customer', op: 'upsert', data: customer },
        { entity: 'offer', op: 'delete', data: { id: 'o9' } },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ids: [100, 101] });
    expect(submitted).toHaveLength(1);
  });

  it('refuses a request without the secret or with a wrong one (401), before reading the batch', async () => {
    const { app, submitted } = setup();
    const none = await post(app, { changes: [] }, null);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({
      statusCode: 401,
      code: 'IM_ERR_UNAUTHORIZED',
      error: 'Unauthorized',
      message: 'Missing "Authorization: Bearer <secret>" header',
    });
    const wrong = await post(
      app,
      { changes: [{ entity: 'customer', op: 'upsert', data: customer }] },
      'Bearer nope',
    );
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      statusCode: 401,
      code: 'IM_ERR_UNAUTHORIZED',
      error: 'Unauthorized',
      message: 'Wrong secret',
    });
    const basic = await post(app, { changes: [] }, `Basic ${SECRET}`);
    expect(basic.statusCode).toBe(401);
    expect(submitted).toHaveLength(0);
  });

  it('refuses a batch with any bad item whole, listing each bad item (nothing is written)', async () => {
    const { app, submitted } = setup();
    const res = await post(app, {
      changes: [
        { entity: 'customer', op: 'upsert', data: customer },
        { entity: 'customer', op: 'upsert', data: { ...customer, status: 'gone' } },
        { entity: 'offer', op: 'delete', data: {} },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_CHANGE',
      error: 'Bad Request',
      message:
        '2 of 3 changes are invalid; none was accepted. #1: data.status: got "gone"; Customer status. Allowed: online, offline, suspended | #2: data.id: is required',
      details: {
        problems: [
          {
            index: 1,
            reason: 'data.status: got "gone"; Customer status. Allowed: online, offline, suspended',
          },
          { index: 2, reason: 'data.id: is required' },
        ],
      },
    });
    expect(submitted).toHaveLength(0);
  });

  it('refuses a body that is not a batch of 1..1000 changes', async () => {
    const { app } = setup();
    const empty = await post(app, { changes: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('IM_ERR_BAD_CHANGE');
    expect(empty.json().message).toContain('Invalid parameter "changes": must NOT have fewer than 1 items');
    const big = await post(app, { changes: Array.from({ length: 1001 }, () => ({})) });
    expect(big.statusCode).toBe(400);
    const other = await post(app, { change: [] });
    expect(other.json().message).toContain('Unknown parameter "change". Allowed: changes');
    const notJson = await app.inject({
      method: 'POST',
      url: '/v1/changes',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      payload: '{"changes": [',
    });
    expect(notJson.statusCode).toBe(400);
  });

  it('a follower answers 503 with the leader URL', async () => {
    const { app } = setup({ leader: { leader: false, term: 0, leaderUrl: 'http://127.0.0.1:4242' } });
    const res = await post(app, { changes: [{ entity: 'customer', op: 'upsert', data: customer }] });
    expect(res.statusCode).toBe(503);
    expect(res.headers['x-imatch-leader']).toBe('http://127.0.0.1:4242');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({
      code: 'IM_ERR_NOT_LEADER',
      details: { leaderUrl: 'http://127.0.0.1:4242' },
    });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
  });

  it('answers 503 when Kafka is unavailable', async () => {
    const { app } = setup({
      fail: new ImatchError('IM_ERR_KAFKA_UNAVAILABLE', 'the changes could not be made durable'),
    });
    const res = await post(app, { changes: [{ entity: 'customer', op: 'upsert', data: customer }] });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
  });
});

describe('health and metrics', () => {
  it('the leader is ready and exposes its counters', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', leader: true });
    await post(app, { changes: [{ entity: 'customer', op: 'upsert', data: customer }] });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('imatch_dispatch_changes_total{result="acknowledged"} 1');
    expect(metrics.body).toContain('imatch_dispatch_last_id 100');
  });
});
