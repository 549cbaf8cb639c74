// Helpers of the searcher integration tests (test/searcher-*.test.ts): run `imatch gen` and
// `imatch build-index` as real processes, start searcher processes, read their ZooKeeper
// registrations, and query them over HTTP with an undici Pool (keep-alive, closed at the end of
// the test). Every process goes through test/helpers/spawn.ts, so it is stopped when the test
// (or the file, for beforeAll) ends, also on failure.

import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { onTestFinished } from 'vitest';
import { commandLine } from '../../bin/launch/command-line.js';
import type { IndexManifest } from '../../core/index-manifest.js';
import type { SearchRequest, SearchResponse } from '../../core/search-contract.js';
import { type IndexPointer, type SearcherRegistration, zkPaths } from '../../core/zk-paths.js';
import type { ZkClient } from '../../core/zookeeper.js';
import { zkConnect } from './servers.js';
import { type ServiceProcess, spawnImatch } from './spawn.js';
import { waitFor } from './wait.js';

/** Runs `imatch ...args` to completion; throws with its output when it fails. */
export async function runImatch(args: string[], timeoutMs = 300_000): Promise<string> {
  const proc = spawnImatch(args);
  const timer = setTimeout(() => void proc.stop('SIGKILL'), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0)
    throw new Error(`imatch ${args.join(' ')} exited with ${code}:\n${proc.output().slice(-4000)}`);
  return proc.output();
}

/** `imatch gen`: a snapshot folder plus queries.jsonl (no change stream). */
export async function generateSnapshot(
  out: string,
  offers: number,
  queries: number,
  seed = '1',
): Promise<void> {
  await runImatch([
    'gen',
    '--out',
    out,
    '--offers',
    String(offers),
    '--queries',
    String(queries),
    '--changes',
    '0',
    '--seed',
    seed,
    '--progress',
    'none',
    '--log-level',
    'warn',
  ]);
}

export interface Built {
  version: string;
  dir: string;
  manifest: IndexManifest;
}

/** `imatch build-index` into `store`; with `publish`, also makes it current under `zkRoot`. */
export async function buildIndexVersion(
  snapshot: string,
  store: string,
  columns: number,
  publish?: { zkRoot: string },
): Promise<Built> {
  const before = new Set(await versionsIn(store));
  const args = ['build-index', '--snapshot', snapshot, '--columns', String(columns), '--out', store];
  if (publish !== undefined) args.push('--publish', '--zk-connect', zkConnect(), '--zk-root', publish.zkRoot);
  await runImatch([...args, '--progress', 'off', '--log-level', 'warn']);
  const added = (await versionsIn(store)).filter((v) => !before.has(v));
  if (added.length !== 1) throw new Error(`expected one new version in ${store}, found ${added.join(', ')}`);
  const version = added[0]!;
  const dir = join(store, version);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
  return { version, dir, manifest };
}

async function versionsIn(store: string): Promise<string[]> {
  try {
    return (await readdir(store)).filter((n) => /^\d{8}T\d{9}Z-[0-9a-f]{6}$/.test(n));
  } catch {
    return [];
  }
}

/** Writes `<root>/index/current` directly (to publish a version the builder did not publish). */
export async function publishVersion(zk: ZkClient, zkRoot: string, built: Built): Promise<void> {
  const pointer: IndexPointer = {
    version: built.version,
    dir: built.dir,
    columns: built.manifest.columns,
    watermark: built.manifest.watermark,
    publishedAt: new Date().toISOString(),
  };
  const path = zkPaths(zkRoot).indexCurrent;
  if ((await zk.exists(path)) === null) {
    await zk.mkdirp(path.slice(0, path.lastIndexOf('/')));
    await zk.create(path, JSON.stringify(pointer));
  } else {
    await zk.set(path, JSON.stringify(pointer));
  }
}

export interface SearcherProcess {
  proc: ServiceProcess;
  column: number;
  replica: string;
}

export function startSearcherProcess(zkRoot: string, column: number, replica: string): SearcherProcess {
  const proc = spawnImatch(
    commandLine('searcher', {
      column,
      replica,
      zkConnect: zkConnect(),
      zkRoot,
      zkSessionTimeoutMs: 6000,
      host: '127.0.0.1',
      port: 0,
      shutdownTimeoutMs: 5000,
      // These tests are about full versions and swaps; isupdate (Kafka + WAL) has its own tests.
      isupdate: false,
    }),
    { name: `searcher-${column}-${replica}` },
  );
  return { proc, column, replica };
}

/** The replica's registration once it exists (and, when given, names `version`). */
export async function waitForRegistration(
  zk: ZkClient,
  zkRoot: string,
  s: SearcherProcess,
  version?: string,
  timeoutMs = 120_000,
): Promise<SearcherRegistration> {
  const path = zkPaths(zkRoot).searcherReplica(s.column, s.replica);
  return waitFor(
    async () => {
      if (s.proc.exitCode() !== null) {
        throw new Error(`${s.proc.name} exited (${s.proc.exitCode()}):\n${s.proc.output().slice(-4000)}`);
      }
      const node = await zk.get(path);
      if (node === null) return undefined;
      const reg = JSON.parse(node.data.toString('utf8')) as SearcherRegistration;
      return version === undefined || reg.version === version ? reg : undefined;
    },
    { what: `${path} registered${version === undefined ? '' : ` with version ${version}`}`, timeoutMs },
  );
}

export interface SearchClient {
  readonly url: string;
  search(req: SearchRequest): Promise<{ status: number; body: SearchResponse }>;
  get(path: string): Promise<{ status: number; text: string }>;
}

/** An undici Pool on the searcher, closed when the current test finishes. */
export function searchClient(url: string, connections = 4): SearchClient {
  const pool = new Pool(url, {
    connections,
    keepAliveTimeout: 1000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  onTestFinished(() => pool.close());
  return {
    url,
    async search(req) {
      const res = await pool.request({
        method: 'POST',
        path: '/search',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(req),
      });
      return { status: res.statusCode, body: (await res.body.json()) as SearchResponse };
    },
    async get(path) {
      const res = await pool.request({ method: 'GET', path });
      return { status: res.statusCode, text: await res.body.text() };
    },
  };
}

/** Sum of every sample of a Prometheus metric in /metrics text (0 when absent). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m !== null && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/** One line of `imatch gen`'s queries.jsonl. */
export interface QueryLine {
  q: string;
  region?: string;
  category?: string;
}

/** The first `count` distinct lines of a query log. */
export async function readQueryLog(file: string, count: number): Promise<QueryLine[]> {
  const seen = new Set<string>();
  const out: QueryLine[] = [];
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() === '' || seen.has(line)) continue;
    seen.add(line);
    out.push(JSON.parse(line) as QueryLine);
    if (out.length >= count) {
      lines.close();
      break;
    }
  }
  return out;
}

/**
 * Copies a snapshot folder, passing every row of each file through `edit` (return undefined to
 * drop the row). Used to build a second, different version from the same data.
 */
export async function copySnapshot(
  from: string,
  to: string,
  edit: {
    customers?: (row: Record<string, unknown>) => Record<string, unknown> | undefined;
    offers?: (row: Record<string, unknown>) => Record<string, unknown> | undefined;
    bidwords?: (row: Record<string, unknown>) => Record<string, unknown> | undefined;
  },
  watermark?: number,
): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of ['customers', 'offers', 'bidwords'] as const) {
    const fn = edit[name] ?? ((r) => r);
    const out: string[] = [];
    const lines = createInterface({
      input: createReadStream(join(from, `${name}.jsonl`), 'utf8'),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const row = fn(JSON.parse(line) as Record<string, unknown>);
      if (row !== undefined) out.push(JSON.stringify(row));
    }
    await writeFile(join(to, `${name}.jsonl`), out.length === 0 ? '' : `${out.join('\n')}\n`);
  }
  const meta = JSON.parse(await readFile(join(from, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
  if (watermark !== undefined) meta.watermark = watermark;
  await writeFile(join(to, 'snapshot.json'), JSON.stringify(meta));
}
