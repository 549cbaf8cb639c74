// The blender's merger client against real servers on 127.0.0.1 (no ZooKeeper or Kafka needed),
// over both transports (HTTP `http://...` and frame RPC `frames://host:port`): connections reused,
// least-outstanding choice, the retry of a refused connection on another merger, the deadline,
// and how merger answers map to the blender's error codes.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ImatchError } from '../core/errors.js';
import { type FrameServer, startFrameServer } from '../core/frame-rpc.js';
import { silentLogger } from '../core/logger.js';
import type { MergeRequest, MergeResponse } from '../core/merge-contract.js';
import { MergerPoolClient } from '../services/blender/merger-client.js';

const request: MergeRequest = { query: 'shoe', n: 3 };
const servers: FastifyInstance[] = [];
const frameServers: FrameServer[] = [];
const clients: MergerPoolClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(frameServers.splice(0).map((s) => s.close(100)));
});

type Transport = 'http' | 'frames';

interface Fake {
  url: string;
  calls: number;
  connections: () => number;
}

type Behave = (req: MergeRequest) => Promise<{ status: number; body: unknown }>;

/** A stand-in merger answering /merge over the transport; its url is what the client is given. */
async function fakeMergerOver(transport: Transport, behave: Behave): Promise<Fake> {
  if (transport === 'frames') {
    const fake: Fake = { url: '', calls: 0, connections: () => server.accepted() };
    const server = await startFrameServer(
      async (text) => {
        fake.calls++;
        const { status, body } = await behave(JSON.parse(text) as MergeRequest);
        return { status, body: JSON.stringify(body) };
      },
      { host: '127.0.0.1', port: 0 },
    );
    frameServers.push(server);
    fake.url = `frames://127.0.0.1:${server.port}`;
    return fake;
  }
  const app = Fastify();
  let connections = 0;
  const fake: Fake = { url: '', calls: 0, connections: () => connections };
  app.server.on('connection', () => {
    connections++;
  });
  app.post<{ Body: MergeRequest }>('/merge', async (req, reply) => {
    fake.calls++;
    const { status, body } = await behave(req.body);
    return reply.code(status).send(body);
  });
  fake.url = await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  return fake;
}

/** The url of a merger that was there and is gone (its port refuses connections). */
async function deadMerger(transport: Transport): Promise<string> {
  const m = await fakeMergerOver(transport, async () => ({ status: 200, body: ok('dead') }));
  if (transport === 'frames') await frameServers.pop()!.close(100);
  else await servers.pop()!.close();
  return m.url;
}

const ok = (label: string): MergeResponse => ({
  hits: [{ offerId: label }],
  coverage: { columns: 2, answered: 2 },
  degraded: false,
  tookUs: 5,
});

function client(urls: string[], timeoutMs = 500): MergerPoolClient {
  const c = new MergerPoolClient(
    { timeoutMs, connections: 4, log: silentLogger(), keepAliveTimeoutMs: 1000 },
    urls,
  );
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<ImatchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImatchError);
    return err as ImatchError;
  }
  throw new Error('expected a rejection');
}

describe.each(['http', 'frames'] as const)('blender merger client over %s', (transport) => {
  const fakeMerger = (behave: Behave) => fakeMergerOver(transport, behave);

  it('posts the merge request and reuses keep-alive connections', async () => {
    let seen: MergeRequest | undefined;
    const m = await fakeMerger(async (req) => {
      seen = req;
      return { status: 200, body: ok('a') };
    });
    const c = client([m.url]);
    for (let i = 0; i < 20; i++) expect(await c.merge(request)).toEqual(ok('a'));
    expect(seen).toEqual(request);
    expect(m.calls).toBe(20);
    // Keep-alive: a handful of connections at most, never one per call (frames: exactly one).
    expect(m.connections()).toBeLessThanOrEqual(transport === 'frames' ? 1 : 2);
  });

  it('spreads concurrent calls over mergers by outstanding requests', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = await fakeMerger(async () => {
      await gate;
      return { status: 200, body: ok('a') };
    });
    const b = await fakeMerger(async () => {
      await gate;
      return { status: 200, body: ok('b') };
    });
    const c = client([a.url, b.url], 5000);
    // 8 calls held open: 4 per merger (each pool has 4 connections, so all 8 reach a server).
    const calls = Array.from({ length: 8 }, () => c.merge(request));
    try {
      const until = Date.now() + 5000;
      while (a.calls + b.calls < 8 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect([a.calls, b.calls]).toEqual([4, 4]);
    } finally {
      release();
      await Promise.allSettled(calls);
    }
  });

  it('retries a refused connection on another merger', async () => {
    const deadUrl = await deadMerger(transport);
    const live = await fakeMerger(async () => ({ status: 200, body: ok('live') }));
    const c = client([deadUrl, live.url]);
    for (let i = 0; i < 6; i++) expect((await c.merge(request)).hits).toEqual([{ offerId: 'live' }]);
    expect(live.calls).toBe(6);
  });

  it('maps failures to the blender error codes', async () => {
    const deadUrl = await deadMerger(transport);
    expect((await rejection(client([deadUrl]).merge(request))).code).toBe('IM_ERR_UPSTREAM_DOWN');
    expect((await rejection(client([]).merge(request))).message).toBe('No merger is available');

    const slow = await fakeMerger(async () => {
      await new Promise((r) => setTimeout(r, 400));
      return { status: 200, body: ok('late') };
    });
    const timeout = await rejection(client([slow.url], 100).merge(request));
    expect(timeout.code).toBe('IM_ERR_UPSTREAM_TIMEOUT');
    expect(timeout.statusCode).toBe(504);

    const cases: [number, string, number, string?][] = [
      [502, 'IM_ERR_UPSTREAM_DOWN', 502],
      [503, 'IM_ERR_NOT_READY', 503],
      [503, 'IM_ERR_OVERLOADED', 503, 'IM_ERR_OVERLOADED'],
      [504, 'IM_ERR_UPSTREAM_TIMEOUT', 504],
      [500, 'IM_ERR_UPSTREAM_DOWN', 502],
      [400, 'IM_ERR_UPSTREAM_DOWN', 502],
    ];
    for (const [status, code, answered, bodyCode] of cases) {
      const m = await fakeMerger(async () => ({
        status,
        body: { statusCode: status, code: bodyCode ?? 'X', error: 'x', message: 'x' },
      }));
      const err = await rejection(client([m.url]).merge(request));
      expect([err.code, err.statusCode], `merger ${status}`).toEqual([code, answered]);
    }
  });

  it('follows a new set of mergers and closes the pools of removed ones', async () => {
    const a = await fakeMerger(async () => ({ status: 200, body: ok('a') }));
    const b = await fakeMerger(async () => ({ status: 200, body: ok('b') }));
    const c = client([a.url]);
    expect((await c.merge(request)).hits).toEqual([{ offerId: 'a' }]);
    c.setEndpoints([b.url]);
    expect(c.urls).toEqual([b.url]);
    for (let i = 0; i < 3; i++) expect((await c.merge(request)).hits).toEqual([{ offerId: 'b' }]);
    expect(a.calls).toBe(1);
    c.setEndpoints([`${b.url}/`, b.url]);
    expect(c.size).toBe(1);
    // The kept merger's connections are reused.
    expect(b.connections()).toBeLessThanOrEqual(transport === 'frames' ? 1 : 2);
  });
});
