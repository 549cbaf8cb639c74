// Shared pieces of the click and billing integration tests (test/click-*.test.ts,
// test/billing-*.test.ts): start a click filter or billing as a real process and find its URL,
// mint genuine tokens with the same codec the blender uses, click with undici, and collect a
// Kafka topic's records as they arrive.
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Pool } from 'undici';
import { afterAll, onTestFinished } from 'vitest';
import type { ClickDecision, Refund, Settlement } from '../core/click-records.js';
import {
  type ClickKeyring,
  type ClickTokenPayload,
  createKeyring,
  encodeClickToken,
} from '../core/click-token.js';
import { ensureTopics, startConsumer } from '../core/kafka.js';
import type { PvRecord } from '../core/pv-record.js';
import {
  kafkaBrokers,
  type ServiceProcess,
  spawnImatch,
  testKafka,
  uniqueGroupId,
  zkConnect,
} from './helpers/index.js';

// Cleanup of what a test (or a file's beforeAll) opened: at the end of that test, or of the file.
const atFileEnd: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(atFileEnd.splice(0).map((f) => f().catch(() => {})));
});
function defer(f: () => Promise<unknown>): void {
  try {
    onTestFinished(async () => {
      await f();
    });
  } catch {
    atFileEnd.push(f);
  }
}

export const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
export const CRAWLER = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export interface Topics {
  clicks: string;
  settlement: string;
  corrections: string;
  changes: string;
}

export function topicFlags(t: Topics): string[] {
  return [
    '--topic-clicks',
    t.clicks,
    '--topic-settlement',
    t.settlement,
    '--topic-corrections',
    t.corrections,
    '--topic-changes',
    t.changes,
  ];
}

export function newKeyring(kid = 3): { ring: ClickKeyring; flag: string } {
  const secret = randomBytes(32);
  return {
    ring: createKeyring(new Map([[kid, secret]]), kid),
    flag: `${kid}:${secret.toString('base64url')}`,
  };
}

export function mint(
  ring: ClickKeyring,
  over: Partial<ClickTokenPayload> = {},
): { token: string; payload: ClickTokenPayload } {
  const payload: ClickTokenPayload = {
    pvId: randomUUID(),
    position: 1,
    offerId: 'o1',
    customerId: 'c1',
    bidwordId: 'b1',
    priceMicros: 120_000,
    bidMicros: 300_000,
    issuedAtMs: Date.now() - 5_000,
    landingUrl: 'https://shop.example/item/1?ref=ad',
    clientDigest: '0000000000000000',
    ...over,
  };
  return { token: encodeClickToken(ring, payload), payload };
}

export interface Service {
  proc: ServiceProcess;
  url: string;
  pool: Pool;
}

async function urlOf(proc: ServiceProcess, msg: string): Promise<string> {
  const m = await proc.waitForOutput(new RegExp(`"url":"(http[^"]+)"[^\\n]*"msg":"${msg}"`), 60_000);
  return m[1]!;
}

function withPool(proc: ServiceProcess, url: string): Service {
  const pool = new Pool(url, { connections: 8, keepAliveTimeout: 1000 });
  defer(() => pool.close());
  return { proc, url, pool };
}

export async function startClickFilterProcess(args: string[]): Promise<Service> {
  const proc = spawnImatch([
    'click-filter',
    '--port',
    '0',
    '--zk-connect',
    zkConnect(),
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--log-level',
    'info',
    ...args,
  ]);
  return withPool(proc, await urlOf(proc, 'click-filter listening'));
}

export async function startBillingProcess(args: string[]): Promise<Service> {
  const proc = spawnImatch([
    'billing',
    '--port',
    '0',
    '--zk-connect',
    zkConnect(),
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--log-level',
    'info',
    '--budget-tick-ms',
    '200',
    ...args,
  ]);
  return withPool(proc, await urlOf(proc, 'billing listening'));
}

export interface ClickAnswer {
  status: number;
  location: string | undefined;
  body: string;
}

export async function click(
  svc: Service,
  token: string,
  userAgent: string | null = BROWSER,
  headers: Record<string, string> = {},
): Promise<ClickAnswer> {
  // undici adds a User-Agent of its own; node:http sends none, which is what "missing" means.
  if (userAgent === null) return clickWithoutUserAgent(svc, token);
  const res = await svc.pool.request({
    method: 'GET',
    path: `/c/${token}`,
    headers: { 'user-agent': userAgent, ...headers },
  });
  const body = await res.body.text();
  const loc = res.headers.location;
  return { status: res.statusCode, location: typeof loc === 'string' ? loc : undefined, body };
}

function clickWithoutUserAgent(svc: Service, token: string): Promise<ClickAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${svc.url}/c/${token}`, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function getJson<T>(svc: Service, path: string): Promise<{ status: number; body: T }> {
  const res = await svc.pool.request({ method: 'GET', path });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

/** Every record of the topics as it arrives (from the beginning), keyed by topic. */
export interface Collected {
  decisions: ClickDecision[];
  settlements: Settlement[];
  refunds: Refund[];
  changes: {
    entity: string;
    op: string;
    id: number;
    data: { id: string; status?: string; dailyBudgetMicros?: number; offlineReason?: string };
  }[];
  /** Page-view records, when collect() was given the pv topic. */
  pvs: PvRecord[];
}

/** Reads the click topics (and the pv topic, when given) from the start into arrays, until the test file ends. */
export async function collect(t: Topics, pvTopic?: string): Promise<Collected> {
  const kafka = testKafka('click-tests');
  const topics = [t.clicks, t.settlement, t.corrections, t.changes];
  if (pvTopic !== undefined) topics.push(pvTopic);
  await ensureTopics(kafka, topics);
  const out: Collected = { decisions: [], settlements: [], refunds: [], changes: [], pvs: [] };
  const consumer = await startConsumer(kafka, {
    groupId: uniqueGroupId('collect'),
    topics,
    eachMessage: async (m) => {
      const v = JSON.parse(m.value?.toString('utf8') ?? 'null');
      if (m.topic === pvTopic) out.pvs.push(v);
      else if (m.topic === t.clicks) out.decisions.push(v);
      else if (m.topic === t.settlement) out.settlements.push(v);
      else if (m.topic === t.corrections) out.refunds.push(v);
      else out.changes.push(v);
    },
  });
  defer(() => consumer.disconnect());
  return out;
}
