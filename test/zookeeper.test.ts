// core/zookeeper.ts against the real ZooKeeper of this run: registrations, session expiry,
// re-arming watches, recursive delete, error codes.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ImatchError } from '../core/errors.js';
import { connectZk, type ZkClient, type ZkNode } from '../core/zookeeper.js';
import { freePort, testZk, uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';

const roots: string[] = [];

function newRoot(): string {
  const root = uniqueZkRoot();
  roots.push(root);
  return root;
}

afterEach(async () => {
  const zk = await connectZk({ connect: zkConnect() });
  try {
    for (const root of roots.splice(0)) await zk.deleteRecursive(root);
  } finally {
    await zk.close();
  }
});

describe('ZooKeeper registrations', () => {
  it('an ephemeral registration is seen by a second client and gone when the first closes', async () => {
    const root = newRoot();
    const owner = await testZk();
    const observer = await testZk();
    const reg = await owner.register(`${root}/searchers/col-0-r0`, '{"url":"http://127.0.0.1:1"}');

    expect(reg.path).toBe(`${root}/searchers/col-0-r0`);
    expect(await observer.children(`${root}/searchers`)).toEqual(['col-0-r0']);
    const node = await observer.get(reg.path);
    expect(node?.data.toString()).toBe('{"url":"http://127.0.0.1:1"}');
    expect(node?.stat.ephemeralOwner).toBe(owner.sessionId);

    await owner.close();
    expect(await observer.exists(reg.path)).toBeNull();
    expect(await observer.children(`${root}/searchers`)).toEqual([]);
  });

  it('comes back by itself after a forced session expiry, with its latest data', async () => {
    const root = newRoot();
    const owner = await testZk();
    const observer = await testZk();
    const reg = await owner.register(`${root}/mergers/m1`, 'v1');
    await reg.update('v2');
    const firstSession = owner.sessionId;

    await owner.expireSessionForTest();

    expect(owner.sessionId).not.toBe(firstSession);
    const node = await waitFor(async () => (await observer.get(reg.path)) ?? undefined, {
      what: 'the registration to come back',
    });
    expect(node.data.toString()).toBe('v2');
    expect(node.stat.ephemeralOwner).toBe(owner.sessionId);
  });

  it('a sequential registration comes back under a new name after an expiry', async () => {
    const root = newRoot();
    const owner = await testZk();
    const observer = await testZk();
    const reg = await owner.register(`${root}/clickfilters/cf-`, 'x', { sequential: true });
    const before = reg.path;
    expect(before).toMatch(/\/cf-\d{10}$/);

    await owner.expireSessionForTest();

    expect(reg.path).not.toBe(before);
    expect(await observer.children(`${root}/clickfilters`)).toEqual([reg.path.split('/').pop()]);
  });

  it('waits for a node left by another session to go before taking its place', async () => {
    const root = newRoot();
    const previous = await testZk();
    const next = await testZk();
    await previous.register(`${root}/svc/a`, 'old');

    const pending = next.register(`${root}/svc/a`, 'new', { timeoutMs: 20_000 });
    await previous.close();
    const reg = await pending;

    const node = await next.get(reg.path);
    expect(node?.data.toString()).toBe('new');
    expect(node?.stat.ephemeralOwner).toBe(next.sessionId);
  });

  it('unregister deletes the node and it is not re-created after an expiry', async () => {
    const root = newRoot();
    const owner = await testZk();
    const reg = await owner.register(`${root}/svc/b`, 'x');
    await reg.unregister();
    await owner.expireSessionForTest();
    expect(await owner.exists(`${root}/svc/b`)).toBeNull();
  });
});

describe('ZooKeeper watches', () => {
  it('a data watch fires for every change, across deletion, re-creation and a session expiry', async () => {
    const root = newRoot();
    const writer = await testZk();
    const watcher = await testZk();
    const path = `${root}/config/reserve`;
    const seen: Array<string | null> = [];
    const unwatch = await watcher.watchData(path, (node: ZkNode | null) => {
      seen.push(node === null ? null : node.data.toString());
    });
    const last = () => seen.at(-1);

    expect(seen).toEqual([null]); // called at once with the current state: absent
    await writer.mkdirp(path);
    await writer.set(path, '100');
    await waitFor(() => last() === '100', { what: 'value 100' });
    for (const v of ['200', '300', '400']) {
      await writer.set(path, v);
      await waitFor(() => last() === v, { what: `value ${v}` });
    }
    await writer.delete(path);
    await waitFor(() => last() === null, { what: 'deletion' });
    await writer.create(path, '500');
    await waitFor(() => last() === '500', { what: 'value 500 after re-creation' });

    await watcher.expireSessionForTest();
    await writer.set(path, '600');
    await waitFor(() => last() === '600', { what: 'value 600 after the session expiry' });

    unwatch();
    const count = seen.length;
    await writer.set(path, '700');
    // A later change seen by another watch proves the event went out; the unsubscribed one stays quiet.
    const probe: string[] = [];
    const unprobe = await watcher.watchData(path, (n) => {
      if (n) probe.push(n.data.toString());
    });
    await writer.set(path, '800');
    await waitFor(() => probe.at(-1) === '800', { what: 'the probe watch' });
    unprobe();
    expect(seen.length).toBe(count);
  });

  it('a child watch follows members joining and leaving, and changes made while its session was expired', async () => {
    const root = newRoot();
    const members = await testZk();
    const watcher = await testZk();
    const dir = `${root}/searchers`;
    await members.mkdirp(dir);
    const views: Array<string[] | null> = [];
    await watcher.watchChildren(dir, (c) => {
      views.push(c);
    });
    const last = () => views.at(-1);

    const a = await members.register(`${dir}/a`, '');
    await waitFor(() => last()?.join() === 'a', { what: '[a]' });
    const b = await members.register(`${dir}/b`, '');
    await waitFor(() => last()?.join() === 'a,b', { what: '[a,b]' });
    await a.unregister();
    await waitFor(() => last()?.join() === 'b', { what: '[b]' });

    await watcher.expireSessionForTest();
    await members.register(`${dir}/c`, '');
    await b.unregister();
    await waitFor(() => last()?.join() === 'c', { what: '[c] after the expiry' });
  });
});

describe('ZooKeeper calls', () => {
  it('deletes a deep tree recursively', async () => {
    const root = newRoot();
    const zk = await testZk();
    let deep = root;
    for (let i = 0; i < 40; i++) deep += `/d${i}`;
    await zk.mkdirp(deep);
    for (let i = 0; i < 30; i++) await zk.create(`${root}/d0/wide${i}`, 'x');

    await zk.deleteRecursive(root);

    expect(await zk.exists(root)).toBeNull();
    await zk.deleteRecursive(root); // already gone: fine
  });

  it('a write with a stale version fails with a retriable IM_ERR_ZK_BAD_VERSION', async () => {
    const root = newRoot();
    const zk = await testZk();
    await zk.mkdirp(`${root}/ids`);
    const stat = await zk.set(`${root}/ids`, '1000');
    await zk.set(`${root}/ids`, '2000', stat.version);
    const err = await zk.set(`${root}/ids`, '3000', stat.version).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImatchError);
    expect((err as ImatchError).code).toBe('IM_ERR_ZK_BAD_VERSION');
    expect((err as ImatchError).retriable).toBe(true);
    expect((await zk.get(`${root}/ids`))?.data.toString()).toBe('2000');
  });

  it('reports a missing node and an existing one with their own codes', async () => {
    const root = newRoot();
    const zk = await testZk();
    expect(await zk.get(`${root}/nope`)).toBeNull();
    await expect(zk.children(`${root}/nope`)).rejects.toMatchObject({ code: 'IM_ERR_ZK_NO_NODE' });
    await zk.mkdirp(`${root}/x`);
    await expect(zk.create(`${root}/x`)).rejects.toMatchObject({
      code: 'IM_ERR_ZK_NODE_EXISTS',
      retriable: false,
    });
  });

  it('connecting where no server listens fails in time with a retriable IM_ERR_ZK_UNAVAILABLE', async () => {
    const port = await freePort();
    const err = await connectZk({ connect: `127.0.0.1:${port}`, connectTimeoutMs: 1500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImatchError);
    expect((err as ImatchError).code).toBe('IM_ERR_ZK_UNAVAILABLE');
    expect((err as ImatchError).retriable).toBe(true);
  });

  it('calls made while the session is being replaced wait for the new session', async () => {
    const root = newRoot();
    const zk: ZkClient = await testZk();
    await zk.mkdirp(root);
    const expired = once(zk, 'expired');
    const expiring = zk.expireSessionForTest();
    await expired;
    expect(zk.isConnected()).toBe(false);
    const writes = Array.from({ length: 20 }, (_, i) => zk.create(`${root}/n${i}`, String(i)));
    await expiring;
    await Promise.all(writes);
    expect(await zk.children(root)).toHaveLength(20);
  });
});
