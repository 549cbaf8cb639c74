// A searcher process from start to stop, on a small fixture snapshot (test/helpers/searcher-fixture):
// started before any version is published it is alive but not ready, answers 503 IM_ERR_NOT_READY
// and is not registered; a damaged first version is refused and leaves it that way; a good version
// makes it serve the reference answers and register; SIGINT deregisters it and it exits 0.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchRequest } from '../core/search-contract.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';
import { loadReferenceSnapshot, referenceSearch } from './helpers/reference.js';
import {
  buildIndexVersion,
  metricSum,
  publishVersion,
  searchClient,
  startSearcherProcess,
} from './helpers/searcher-cluster.js';
import { makeFixture, makeQueries, writeSnapshot } from './helpers/searcher-fixture.js';

let tmp: string;
let zk: ZkClient;
let zkRoot: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-lifecycle-it-'));
  zkRoot = uniqueZkRoot('searcher-lifecycle');
  zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
});

afterAll(async () => {
  if (zk !== undefined) {
    await zk.deleteRecursive(zkRoot).catch(() => undefined);
    await zk.close();
  }
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('searcher lifecycle', () => {
  it('waits for a good version before it is ready and registered, and deregisters on SIGINT', async () => {
    const fixture = makeFixture({ offers: 3000, seed: 11 });
    const snapshot = join(tmp, 'snapshot');
    await writeSnapshot(snapshot, fixture, 17);
    const store = join(tmp, 'store');
    const damaged = await buildIndexVersion(snapshot, store, 2);
    const good = await buildIndexVersion(snapshot, store, 2);
    const segment = join(damaged.dir, 'col-1.seg');
    const bytes = await readFile(segment);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(segment, bytes);

    const s = startSearcherProcess(zkRoot, 1, 'life');
    const url = await waitFor(
      () =>
        s.proc
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; url?: string })
          .find((l) => l.msg === 'searcher listening')?.url,
      { what: 'the searcher to listen' },
    );
    const client = searchClient(url);
    const path = zkPaths(zkRoot).searcherReplica(1, 'life');

    // Nothing published: alive, not ready, not registered, searches refused with a retriable 503.
    await s.proc.waitForOutput(/no index version is published yet; waiting for one/);
    expect((await client.get('/healthz')).status).toBe(200);
    const notReady = await client.get('/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text).message).toBe(
      'Not ready: no index version is loaded, not registered in ZooKeeper',
    );
    const refused = await client.search({ query: 'red shoes', k: 5 });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'IM_ERR_NOT_READY' });
    expect(await zk.exists(path)).toBeNull();

    // A damaged first version: refused, still not ready.
    await publishVersion(zk, zkRoot, damaged);
    await waitFor(
      async () =>
        metricSum((await client.get('/metrics')).text, 'imatch_searcher_swap_failures_total') === 1 &&
        s.proc.output().includes('refused index version'),
      { what: 'the damaged version to be refused' },
    );
    expect(s.proc.output()).toContain(
      `refused index version ${damaged.version}: Index segment ${segment} is corrupt`,
    );
    expect(s.proc.output()).toContain('no version is served yet');
    expect((await client.get('/readyz')).status).toBe(503);
    expect(await zk.exists(path)).toBeNull();

    // A good version: serves, registers, answers like the reference.
    await publishVersion(zk, zkRoot, good);
    const registered = await waitFor(async () => {
      const node = await zk.get(path);
      return node === null ? undefined : JSON.parse(node.data.toString('utf8'));
    });
    expect(registered).toMatchObject({
      url: client.url,
      column: 1,
      replica: 'life',
      version: good.version,
      appliedId: 17,
    });
    expect(JSON.parse((await client.get('/readyz')).text)).toMatchObject({
      status: 'ready',
      version: good.version,
    });
    const ref = await loadReferenceSnapshot(snapshot);
    const queries: SearchRequest[] = makeQueries(fixture, 200, 5);
    let nonEmpty = 0;
    for (const q of queries) {
      const res = await client.search(q);
      expect(res.status).toBe(200);
      expect(res.body.hits).toEqual(referenceSearch(ref, q, { column: 1, columns: 2 }));
      if (res.body.hits.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(100);

    // SIGINT: deregistered, clean exit.
    expect(await s.proc.stop('SIGINT')).toBe(0);
    expect(await zk.exists(path)).toBeNull();
  });
});
