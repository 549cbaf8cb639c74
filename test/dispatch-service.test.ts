// dispatch as a real process against the run's real ZooKeeper and Kafka:
//   - no or wrong secret -> 401; a malformed batch -> 400 listing every bad item, and nothing of
//     it reaches Kafka;
//   - ids stay unique and increasing across a kill -9 and restart, and across a second instance
//     taking over leadership (the follower answers 503 with the leader's URL meanwhile);
//   - every acknowledged change is in the changes topic, with its id, exactly as sent;
//   - with Kafka unreachable, 503 IM_ERR_KAFKA_UNAVAILABLE and nothing acknowledged.
import { hostname } from 'node:os';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../core/kafka.js';
import type { ChangeMessage } from '../core/model.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { ChangeClient, startDispatch, TEST_SECRET } from './helpers/incremental.js';
import {
  freePort,
  testKafka,
  uniqueGroupId,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';

const customer = (n: number) => ({
  entity: 'customer',
  op: 'upsert',
  data: { id: `c${n}`, name: `Customer ${n}`, status: 'online', dailyBudgetMicros: 10_000_000 },
});
const batchOf = (from: number, count: number) => Array.from({ length: count }, (_, i) => customer(from + i));

/** Every message in `topic`, read from the beginning with a fresh group, until `count` are there. */
async function readTopic(topic: string, atLeast: number): Promise<ChangeMessage[]> {
  const kafka = testKafka('dispatch-test-reader');
  const consumer = kafka.consumer({ groupId: uniqueGroupId('reader'), maxWaitTimeInMs: 200 });
  const got: ChangeMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push(JSON.parse(message.value!.toString('utf8')) as ChangeMessage);
      },
    });
    await waitFor(() => got.length >= atLeast, {
      what: `${atLeast} messages in ${topic}`,
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

async function topicSize(topic: string): Promise<number> {
  const admin = testKafka('dispatch-test-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

let zk: ZkClient;
beforeAll(async () => {
  zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
});
afterAll(async () => {
  await zk?.close();
});

describe('dispatch', () => {
  it('refuses missing or wrong secrets and malformed batches, and writes nothing of them', async () => {
    const root = uniqueZkRoot('dispatch-auth');
    const topic = uniqueTopic('changes');
    await ensureTopics(testKafka(), [topic]);
    const d = await startDispatch(root, topic);
    const client = new ChangeClient(d.url);
    try {
      await waitFor(
        async () => (await client.pool.request({ path: '/readyz', method: 'GET' })).statusCode === 200,
        {
          what: 'dispatch to be ready',
        },
      );

      const none = await client.post(batchOf(1, 2), null);
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('IM_ERR_UNAUTHORIZED');
      const wrong = await client.post(batchOf(1, 2), `${TEST_SECRET}x`);
      expect(wrong.status).toBe(401);

      const bad = await client.post([
        customer(1),
        { entity: 'offer', op: 'upsert', data: { id: 'o1' } },
        customer(2),
        {
          entity: 'bidword',
          op: 'upsert',
          data: { id: 'b1', offerId: 'o1', keyword: 'x', matchType: 'exact', status: 'online' },
        },
        { entity: 'customer', op: 'remove', data: { id: 'c1' } },
      ]);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('IM_ERR_BAD_CHANGE');
      const problems = (bad.body.details as { problems: Array<{ index: number; reason: string }> }).problems;
      expect(problems.map((p) => p.index)).toEqual([1, 3, 4]);
      expect(problems[0]!.reason).toContain('data.customerId: is required');
      expect(problems[1]!.reason).toBe('data: bidword b1 with match type exact needs bidMicros');
      expect(problems[2]!.reason).toBe('op: got "remove"; allowed: upsert, delete');

      // A good batch afterwards is the only thing in the topic.
      const ok = await client.post(batchOf(10, 3));
      expect(ok.status).toBe(200);
      const messages = await readTopic(topic, 3);
      expect(messages.map((m) => m.data.id)).toEqual(['c10', 'c11', 'c12']);
      expect(await topicSize(topic)).toBe(3);
      // Searchers learn from ZooKeeper which cluster and topic carry this deployment's changes.
      const recorded = JSON.parse((await zk.get(zkPaths(root).dispatchChanges))!.data.toString('utf8'));
      expect(recorded).toMatchObject({ topic, partitions: 1 });
      expect(recorded.clusterId).toMatch(/^\S+$/);
    } finally {
      await client.close();
    }
  });

  it('keeps ids unique and increasing across kill -9, restart and a second instance taking over', async () => {
    const root = uniqueZkRoot('dispatch-ids');
    const topic = uniqueTopic('changes');
    await ensureTopics(testKafka(), [topic]);
    const flags = ['--id-block-size', '7'];
    const first = await startDispatch(root, topic, flags);
    let client = new ChangeClient(first.url);
    const clients = [client];
    let n = 0;
    const sendSome = async (batches: number) => {
      for (let i = 0; i < batches; i++) {
        await client.postUntilAccepted(batchOf(n, 3));
        n += 3;
      }
    };
    try {
      await sendSome(4);

      // kill -9: the unused rest of its block is abandoned, never reused.
      await first.proc.stop('SIGKILL');
      const restarted = await startDispatch(root, topic, flags);
      client = new ChangeClient(restarted.url);
      clients.push(client);
      await sendSome(4);

      // A second instance follows: it refuses with the leader's URL.
      const second = await startDispatch(root, topic, flags);
      const viaFollower = new ChangeClient(second.url);
      clients.push(viaFollower);
      const refused = await waitFor(
        async () => {
          const r = await viaFollower.post(batchOf(1000, 1));
          return r.status === 503 && r.body.code === 'IM_ERR_NOT_LEADER' ? r : undefined;
        },
        { what: 'the follower to know the leader' },
      );
      expect((refused.body.details as { leaderUrl: string }).leaderUrl).toBe(restarted.url);

      // The leader dies (kill -9): the follower takes over once the leader's session expires.
      await restarted.proc.stop('SIGKILL');
      client = viaFollower;
      await sendSome(4);

      const ids = clients.flatMap((c) => c.acked.map((m) => m.id));
      expect(ids).toHaveLength(36);
      expect(new Set(ids).size).toBe(ids.length);
      // In acknowledgement order, ids only go up.
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
      // The id znode is past every id handed out.
      const node = await zk.get(zkPaths(root).dispatchIds);
      expect(JSON.parse(node!.data.toString()).next).toBeGreaterThan(Math.max(...ids));

      // Every acknowledged change is in Kafka with its id, exactly as sent, in id order.
      const acked = clients.flatMap((c) => c.acked);
      const inKafka = await readTopic(topic, acked.length);
      const byId = new Map(inKafka.map((m) => [m.id, m]));
      for (const m of acked) {
        const k = byId.get(m.id);
        expect(k, `message ${m.id} in Kafka`).toBeDefined();
        expect({ entity: k!.entity, op: k!.op, data: k!.data }).toEqual({
          entity: m.entity,
          op: m.op,
          data: m.data,
        });
      }
      const kafkaIds = inKafka.map((m) => m.id);
      expect(kafkaIds).toEqual([...kafkaIds].sort((a, b) => a - b));
      await second.proc.stop();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('answers 503 and acknowledges nothing when Kafka is unreachable', async () => {
    const root = uniqueZkRoot('dispatch-nokafka');
    const closedPort = await freePort();
    const d = await startDispatch(root, uniqueTopic('changes'), [
      '--kafka-brokers',
      `127.0.0.1:${closedPort}`,
      '--kafka-timeout-ms',
      '3000',
    ]);
    const client = new ChangeClient(d.url);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await client.post(batchOf(i * 2, 2));
        expect(r.status).toBe(503);
        expect(['IM_ERR_KAFKA_UNAVAILABLE', 'IM_ERR_NOT_LEADER']).toContain(r.body.code);
      }
      await waitFor(
        async () => {
          const r = await client.post(batchOf(100, 1));
          expect(r.status).toBe(503);
          return r.body.code === 'IM_ERR_KAFKA_UNAVAILABLE';
        },
        { what: 'a 503 IM_ERR_KAFKA_UNAVAILABLE from the leader' },
      );
      expect(client.acked).toHaveLength(0);
      const ready = await client.pool.request({ path: '/readyz', method: 'GET' });
      expect(ready.statusCode).toBe(503);
      await ready.body.dump();
    } finally {
      await client.close();
    }
  });

  it('listening on 0.0.0.0 it advertises its host name, never 0.0.0.0, as leader and in ZooKeeper', async () => {
    const root = uniqueZkRoot('dispatch-advertise');
    const topic = uniqueTopic('changes');
    const port = await freePort();
    const d = await startDispatch(root, topic, ['--host', '0.0.0.0', '--port', String(port)]);
    expect(d.url).toBe(`http://${hostname()}:${port}`);
    const ready = await waitFor(
      async () => {
        const res = await request(`http://127.0.0.1:${port}/readyz`);
        const body = (await res.body.json()) as { leaderUrl?: string };
        return res.statusCode === 200 ? body : undefined;
      },
      { what: 'dispatch to be the ready leader', timeoutMs: 60_000 },
    );
    expect(ready.leaderUrl).toBe(d.url);
    const kind = zkPaths(root).serviceKind('dispatch');
    const [child] = await zk.children(kind);
    const node = await zk.get(`${kind}/${child}`);
    expect(JSON.parse(node!.data.toString())).toMatchObject({ url: d.url, id: `${hostname()}-${port}` });
  });
});
