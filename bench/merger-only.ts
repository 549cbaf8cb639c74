// The merger alone, on real-sized answers: two canned searchers (bench/bare-chain node.ts
// `canned-searcher`, each answering the top k of 100 realistic hits without searching) behind
// (a) `imatch merger` (ZooKeeper discovery, validation, fan-out with deadlines, merge, CDistinct,
// sort, FieldFormatSort, metrics) and (b) the bare chain's merger (parse, concatenate, serialize),
// driven with the same POST /merge bodies. Reports throughput, latency and the merger process's
// CPU time per merge, so the merger's own overhead can be told from the searchers' and the
// blender's in bench/query-path.ts. The canned searchers speak HTTP only (no frame address in
// their registration), so this measures the merger's HTTP client, not the frame RPC hop that
// `imatch searcher` gets by default; client (b) is HTTP as well.
//
//   npm run build && node dist/bench/merger-only.js [--zk host:port] [--ms 10000] [--c 16] [--n 11]
//     [--cpu-prof DIR]   (profile of the imatch merger: node dist/bench/cpuprofile-top.js DIR/merger.cpuprofile)
// Without --zk it starts its own ZooKeeper and Kafka (infra/servers.ts) and stops them after.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { type SearcherRegistration, zkPaths } from '../core/zk-paths.js';
import { connectZk } from '../core/zookeeper.js';
import { publishPointer } from '../index-builder/publish.js';
import { downServers, upServers } from '../infra/servers.js';
import { BLENDER_FIELDS } from '../services/blender/blend.js';
import { cannedHits } from './canned-hits.js';
import { runLoad } from './http-load.js';
import { cpuMsOf } from './proc-cpu.js';

const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));
const NODE_JS = fileURLToPath(new URL('./bare-chain/node.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    zk: { type: 'string' },
    ms: { type: 'string', default: '10000' },
    c: { type: 'string', default: '16' },
    n: { type: 'string', default: '11' },
    'cpu-prof': { type: 'string' },
  },
});

const say = (line: string) => process.stderr.write(`[merger-only] ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = srv.address();
      srv.close(() => ok(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

interface Proc {
  child: ChildProcess;
  out: () => string;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  return { child, out: () => out };
}

async function urlOf(p: Proc): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const line = p
      .out()
      .split('\n')
      .find((l) => l.startsWith('{') && l.includes('"url"'));
    if (line !== undefined) return (JSON.parse(line) as { url: string }).url;
    await sleep(50);
  }
  throw new Error(`no url printed:\n${p.out()}`);
}

async function main(): Promise<void> {
  const procs: Proc[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let zkConnect = args.zk;
    if (zkConnect === undefined) {
      const infraDir = await promisify(mkdtemp)(join(tmpdir(), 'imatch-mo-'));
      const up = await upServers({
        infraDir,
        cacheDir:
          process.env.IMATCH_INFRA_CACHE_DIR || join(process.env.HOME ?? tmpdir(), '.cache/imatch/infra'),
        zkPort: await freePort(),
        kafkaPort: await freePort(),
        kafkaControllerPort: await freePort(),
      });
      cleanups.push(async () => {
        await downServers(infraDir);
        await promisify(rm)(infraDir, { recursive: true, force: true });
      });
      zkConnect = up.zookeeper.address;
    }
    const root = `/imatch-bench/mo-${process.pid}-${randomBytes(3).toString('hex')}`;
    const dir = await promisify(mkdtemp)(join(tmpdir(), 'imatch-mo-hits-'));
    cleanups.push(() => promisify(rm)(dir, { recursive: true, force: true }));
    const searcherUrls: string[] = [];
    for (const c of [0, 1]) {
      const file = join(dir, `col-${c}.json`);
      await promisify(writeFile)(file, JSON.stringify(cannedHits(c)));
      const p = start([NODE_JS, 'canned-searcher', String(c), file]);
      procs.push(p);
      searcherUrls.push(await urlOf(p));
    }
    const zk = await connectZk({ connect: zkConnect });
    cleanups.push(() => zk.close());
    await publishPointer(zk, root, {
      version: 'bench',
      dir,
      columns: 2,
      watermark: 0,
      publishedAt: new Date().toISOString(),
    });
    for (const c of [0, 1]) {
      const reg: SearcherRegistration = {
        url: searcherUrls[c]!,
        column: c,
        replica: 'r0',
        version: 'bench',
        appliedId: 0,
        startedAt: new Date().toISOString(),
      };
      await zk.register(zkPaths(root).searcherReplica(c, 'r0'), JSON.stringify(reg));
    }
    const prof = args['cpu-prof'];
    const merger = start([
      ...(prof === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--cpu-prof-name=merger.cpuprofile']),
      CLI,
      'merger',
      '--port',
      '0',
      '--zk-connect',
      zkConnect,
      '--zk-root',
      root,
      '--log-level',
      'warn',
    ]);
    procs.push(merger);
    const bare = start([NODE_JS, 'merger', searcherUrls.join(',')]);
    procs.push(bare);
    const targets = [
      { name: 'imatch merger', url: await urlOf(merger), pid: merger.child.pid! },
      { name: 'bare merger', url: await urlOf(bare), pid: bare.child.pid! },
    ];
    for (let i = 0; i < 100; i++) {
      const r = await request(`${targets[0]!.url}/readyz`).catch(() => undefined);
      if (r !== undefined && r.statusCode === 200) break;
      await sleep(100);
    }
    const n = Number(args.n);
    const words = ['hiking boots', 'waterproof boots', 'trekking shoes', 'leather boots', 'mens boots'];
    const fields = BLENDER_FIELDS; // what the blender asks for
    const bodies = words.map((q) => JSON.stringify({ query: q, n, fields }));
    const lines = [
      `Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${new Date().toISOString()}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `POST /merge n=${n} (${fields.length} fields), 2 canned searchers answering the top k of 100 realistic hits, closed loop c=${args.c}, ${Number(args.ms) / 1000} s`,
      '',
      '| merger | req/s | p50 ms | p99 ms | errors | merger CPU us/merge |',
      '|---|---|---|---|---|---|',
    ];
    for (const round of [1, 2]) {
      for (const t of targets) {
        let before = 0;
        const result = await runLoad({
          origin: t.url,
          paths: ['/merge'],
          bodies,
          concurrency: Number(args.c),
          durationMs: Number(args.ms),
          warmupMs: 2_000,
          onMeasureStart: () => {
            before = cpuMsOf(t.pid);
          },
        });
        const cpuUs = Math.round(((cpuMsOf(t.pid) - before) * 1000) / Math.max(1, result.requests));
        say(
          `round ${round} ${t.name}: ${result.rps} req/s, p99 ${result.p99Ms} ms, ${cpuUs} us CPU per merge`,
        );
        if (round === 2) {
          lines.push(
            `| ${t.name} | ${result.rps} | ${result.p50Ms} | ${result.p99Ms} | ${result.errors} | ${cpuUs} |`,
          );
        }
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => (p.child.exitCode === null ? new Promise((r) => p.child.once('exit', r)) : undefined)),
    );
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

await main();
