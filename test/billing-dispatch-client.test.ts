// billing's dispatch client against small HTTP servers on 127.0.0.1 standing in for dispatch
// (the real dispatch is in test/billing-loop.test.ts): the Bearer secret and body, following a
// follower's x-imatch-leader, and retriable errors when dispatch refuses or is down.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DispatchClient } from '../billing/dispatch-client.js';
import { silentLogger } from '../core/logger.js';

describe('dispatch client', () => {
  let servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    servers = [];
  });
  function serve(
    handler: (body: string, auth: string | undefined) => [number, Record<string, string>, string],
  ): Promise<string> {
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const [status, headers, out] = handler(body, req.headers.authorization);
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(out);
      });
    });
    servers.push(s);
    return new Promise((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`)),
    );
  }
  const change = {
    entity: 'customer' as const,
    op: 'upsert' as const,
    data: { id: 'c1', name: 'A', status: 'offline' as const, dailyBudgetMicros: 1 },
  };

  it('posts the change with the Bearer secret and returns the ids', async () => {
    let seen: { body: string; auth: string | undefined } | undefined;
    const url = await serve((body, auth) => {
      seen = { body, auth };
      return [200, {}, '{"ids":[42]}'];
    });
    const c = new DispatchClient({
      url,
      zkRoot: '/x',
      secret: 's'.repeat(16),
      timeoutMs: 2000,
      log: silentLogger(),
    });
    expect(await c.send([change])).toEqual([42]);
    expect(seen?.auth).toBe(`Bearer ${'s'.repeat(16)}`);
    expect(JSON.parse(seen!.body)).toEqual({ changes: [change] });
    await c.close();
  });

  it("follows a follower's x-imatch-leader to the leader", async () => {
    const leader = await serve(() => [200, {}, '{"ids":[7]}']);
    const follower = await serve(() => [503, { 'x-imatch-leader': leader }, '{"code":"IM_ERR_NOT_LEADER"}']);
    const c = new DispatchClient({
      url: follower,
      zkRoot: '/x',
      secret: 's'.repeat(16),
      timeoutMs: 2000,
      log: silentLogger(),
    });
    expect(await c.send([change])).toEqual([7]);
    await c.close();
  });

  it('fails with a retriable error when dispatch refuses or is down', async () => {
    const url = await serve(() => [503, {}, '{"code":"IM_ERR_KAFKA_UNAVAILABLE"}']);
    const c = new DispatchClient({
      url,
      zkRoot: '/x',
      secret: 's'.repeat(16),
      timeoutMs: 2000,
      log: silentLogger(),
    });
    await expect(c.send([change])).rejects.toMatchObject({ code: 'IM_ERR_UPSTREAM_DOWN', retriable: true });
    const gone = new DispatchClient({
      url: 'http://127.0.0.1:1',
      zkRoot: '/x',
      secret: 's'.repeat(16),
      timeoutMs: 500,
      log: silentLogger(),
    });
    await expect(gone.send([change])).rejects.toMatchObject({ code: 'IM_ERR_UPSTREAM_DOWN' });
    await c.close();
    await gone.close();
  });
});
