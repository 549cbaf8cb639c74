// One process of the bare chain: the query path's shape (blender -> merger -> N searchers) with
// trivial handlers, fastify + undici Pool.request with keep-alive, one process per role, so the
// benchmark can tell what the framework and the hops cost from what iMatch's own work costs.
//   node dist/bench/bare-chain/node.js searcher <column>
//   node dist/bench/bare-chain/node.js canned-searcher <column> <hits.json>
//   node dist/bench/bare-chain/node.js merger <searcherUrl,searcherUrl,...>
//   node dist/bench/bare-chain/node.js blender <mergerUrl>
// Prints one JSON line {"role", "url"} on stdout once listening; stops on SIGTERM.
//
// The hops carry JSON both ways like the real ones (the merger parses each searcher's body and
// serializes the concatenation, the blender parses the merger's body), but the payloads are tiny
// and nobody searches, ranks, prices, encrypts or logs: that is the point of the comparison.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { Pool } from 'undici';

const HEADERS = { 'content-type': 'application/json' };

function pool(url: string): Pool {
  return new Pool(url, { connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
}

async function postJson(p: Pool, path: string, body: string): Promise<unknown> {
  const res = await p.request({ path, method: 'POST', headers: HEADERS, body });
  return res.body.json();
}

async function main(): Promise<void> {
  const [role, arg] = process.argv.slice(2);
  const app = Fastify({ logger: false });
  if (role === 'searcher') {
    const column = Number(arg ?? 0);
    app.post('/search', async (request) => {
      const { query } = request.body as { query: string };
      return { column, hits: [{ offerId: `o-${column}`, query }] };
    });
  } else if (role === 'canned-searcher') {
    // A searcher stand-in with realistic payloads: answers the top k of a fixed ranked hit list
    // (file: JSON array of SearchHit), so a merger can be measured on real-sized answers without
    // the cost of searching (bench/merger-only.ts).
    const column = Number(arg ?? 0);
    const hits = JSON.parse(readFileSync(process.argv[4] ?? '', 'utf8')) as unknown[];
    app.post('/search', async (request) => {
      const { k } = request.body as { k: number };
      return { column, replica: 'r0', version: 'bench', appliedId: 0, hits: hits.slice(0, k), tookUs: 1 };
    });
  } else if (role === 'merger') {
    const searchers = (arg ?? '').split(',').map(pool);
    app.post('/merge', async (request) => {
      const { query, n } = request.body as { query: string; n: number };
      const body = JSON.stringify({ query, k: n });
      const answers = (await Promise.all(searchers.map((s) => postJson(s, '/search', body)))) as {
        hits: unknown[];
      }[];
      return {
        hits: answers.flatMap((a) => a.hits),
        coverage: { columns: answers.length, answered: answers.length },
      };
    });
  } else if (role === 'blender') {
    const merger = pool(arg ?? '');
    app.get('/v1/ads', async (request) => {
      const { q } = request.query as { q: string };
      const merged = (await postJson(merger, '/merge', JSON.stringify({ query: q, n: 11 }))) as {
        hits: unknown[];
      };
      return { ads: merged.hits, degraded: false };
    });
  } else {
    throw new Error(`unknown role ${role}; use searcher, merger or blender`);
  }
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ role, url: address })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

await main();
