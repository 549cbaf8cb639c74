// The merger's searcher client against a real HTTP server on 127.0.0.1 (a stand-in searcher that
// can be slow, hang, or answer wrongly): answers are read, a slow answer past the attempt timeout
// keeps its keep-alive connection (read and dropped), a request past the abandon time is aborted,
// and every failure comes back as the right ImatchError code.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isImatchError } from '../core/errors.js';
import type { SearcherRegistration } from '../core/zk-paths.js';
import { PoolSearcherClient } from '../services/merger/searcher-client.js';

interface Stand {
  url: string;
  server: Server;
  connections: () => number;
  answered: () => number;
}

const servers: Server[] = [];
const clients: PoolSearcherClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function standIn(): Promise<Stand> {
  let connections = 0;
  let answered = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const { query } = JSON.parse(body) as { query: string };
      const reply = (status: number, value: unknown) => {
        answered++;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      const hits = [{ offerId: 'o1', customerId: 'c1', score: 1, qualityBp: 1 }];
      const ok = { column: 0, replica: 'r0', version: 'v1', appliedId: 0, hits, tookUs: 1 };
      if (query === 'slow') setTimeout(() => reply(200, ok), 200);
      else if (query === 'hang') return;
      else if (query === 'busy') reply(503, { statusCode: 503, code: 'IM_ERR_NOT_READY' });
      else if (query === 'other column') reply(200, { ...ok, column: 1 });
      else reply(200, ok);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    connections: () => connections,
    answered: () => answered,
  };
}

function client(url: string, abandonAfterMs = 5_000): PoolSearcherClient {
  const reg: SearcherRegistration = {
    url,
    column: 0,
    replica: 'r0',
    version: 'v1',
    appliedId: 0,
    startedAt: new Date().toISOString(),
  };
  const c = new PoolSearcherClient(reg, { connections: 1, keepAliveTimeoutMs: 10_000, abandonAfterMs });
  clients.push(c);
  return c;
}

const body = (query: string) => JSON.stringify({ query, k: 5 });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return isImatchError(err) ? err.code : `not an ImatchError: ${String(err)}`;
  }
}

describe('merger searcher client', () => {
  it('reads an answer over one keep-alive connection', async () => {
    const s = await standIn();
    const c = client(s.url);
    for (let i = 0; i < 3; i++) {
      const answer = await c.search(body('red shoes'), 1_000).answer;
      expect(answer.hits.map((h) => h.offerId)).toEqual(['o1']);
    }
    expect(s.connections()).toBe(1);
  });

  it('stops waiting at the attempt timeout but keeps the connection for the next request', async () => {
    const s = await standIn();
    const c = client(s.url);
    const call = c.search(body('slow'), 20);
    expect(await codeOf(call.answer)).toBe('IM_ERR_UPSTREAM_TIMEOUT');
    await call.settled;
    expect(s.answered()).toBe(1);
    const next = await c.search(body('red shoes'), 1_000).answer;
    expect(next.hits).toHaveLength(1);
    expect(s.connections()).toBe(1);
  });

  it('aborts a request still unanswered at the abandon time, closing its connection', async () => {
    const s = await standIn();
    const c = client(s.url, 100);
    const call = c.search(body('hang'), 20);
    expect(await codeOf(call.answer)).toBe('IM_ERR_UPSTREAM_TIMEOUT');
    await call.settled;
    const next = await c.search(body('red shoes'), 1_000).answer;
    expect(next.hits).toHaveLength(1);
    expect(s.connections()).toBe(2);
  });

  it('reports a non-200 answer, an answer for another column and a refused connection as upstream down', async () => {
    const s = await standIn();
    const c = client(s.url);
    expect(await codeOf(c.search(body('busy'), 1_000).answer)).toBe('IM_ERR_UPSTREAM_DOWN');
    expect(await codeOf(c.search(body('other column'), 1_000).answer)).toBe('IM_ERR_UPSTREAM_DOWN');
    const gone = await standIn();
    const url = gone.url;
    servers.splice(servers.indexOf(gone.server), 1);
    await new Promise((r) => gone.server.close(r));
    expect(await codeOf(client(url).search(body('red shoes'), 1_000).answer)).toBe('IM_ERR_UPSTREAM_DOWN');
  });
});
