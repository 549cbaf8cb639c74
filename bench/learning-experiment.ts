// Issue 13's experiment end to end: the whole engine (`imatch start`: ZooKeeper, Kafka, searchers,
// merger, blender, click filter, billing, reports, learner) on --offers generated offers, then
// `imatch simulate` splitting users 50/50 between the quality and ctr arms for --queries queries,
// then a graceful stop. Prints the simulate JSON (per arm: queries, impressions, clicks, CTR, cost,
// revenue per 1,000 queries; the learner's held-out AUC, calibration, normalized entropy) and the
// targets: ctr arm RPM >= 1.10 x quality arm RPM with a higher CTR, AUC >= 0.70, calibration
// 0.9-1.1. Run on a quiet machine; it states the load average before and after.
//
//   npm run build && node dist/bench/learning-experiment.js [--offers 20000] [--queries 200000]
//        [--seed 1] [--data DIR] [--port-base 18100] [--concurrency 16]
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IMATCH_JS } from '../bin/launch/command-line.js';

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '20000' },
    queries: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '1' },
    data: { type: 'string' },
    'port-base': { type: 'string', default: '18100' },
    concurrency: { type: 'string', default: '16' },
  },
});
const base = Number(args['port-base']);
const port = (i: number) => String(base + i);
const dataDir = args.data ?? (await mkdtemp(join(tmpdir(), 'imatch-learning-bench-')));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();
const started = new Date().toISOString();

const startArgs = [
  IMATCH_JS,
  'start',
  '--data-dir',
  dataDir,
  '--offers',
  String(args.offers),
  '--zk-port',
  port(0),
  '--kafka-port',
  port(1),
  '--kafka-controller-port',
  port(2),
  '--blender-port',
  port(3),
  '--click-port',
  port(4),
  '--dispatch-port',
  port(5),
  '--merger-port',
  port(6),
  '--billing-port',
  port(7),
  '--reports-port',
  port(8),
  '--learner-port',
  port(9),
  '--searcher-base-port',
  port(20),
  '--replicas',
  '1',
  // Every simulated user clicks from 127.0.0.1; the simulator says who it is in X-Forwarded-For.
  '--click-trust-proxy',
  'true',
];
const engine = spawn(process.execPath, startArgs, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let out = '';
engine.stdout.on('data', (b: Buffer) => {
  out += b.toString();
});
engine.stderr.on('data', (b: Buffer) => {
  process.stderr.write(b);
});
const stopEngine = async () => {
  if (engine.exitCode !== null) return;
  const gone = new Promise((r) => engine.once('exit', r));
  process.kill(-engine.pid!, 'SIGINT');
  await gone;
};
process.once('SIGINT', () => void stopEngine().then(() => process.exit(130)));

try {
  const t0 = Date.now();
  while (!out.includes('Ctrl-C stops everything.')) {
    if (engine.exitCode !== null) throw new Error(`imatch start exited with ${engine.exitCode}:\n${out}`);
    if (Date.now() - t0 > 600_000) throw new Error('the engine did not start within 10 minutes');
    await new Promise((r) => setTimeout(r, 250));
  }
  const jsonFile = join(dataDir, 'simulate.json');
  const simArgs = [
    IMATCH_JS,
    'simulate',
    '--blender',
    `http://127.0.0.1:${port(3)}`,
    '--click-base',
    `http://127.0.0.1:${port(4)}`,
    '--billing',
    `http://127.0.0.1:${port(7)}`,
    '--learner',
    `http://127.0.0.1:${port(9)}`,
    '--zk-connect',
    `127.0.0.1:${port(0)}`,
    '--zk-root',
    '/imatch',
    '--arms',
    'quality=50,ctr=50',
    '--queries',
    String(args.queries),
    '--seed',
    String(args.seed),
    '--concurrency',
    String(args.concurrency),
    '--query-log',
    join(dataDir, 'demo', 'snapshot', 'queries.jsonl'),
    '--json',
    jsonFile,
  ];
  const simStarted = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const sim = spawn(process.execPath, simArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
    sim.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`imatch simulate exited with ${code}`);
  const result = JSON.parse(await readFile(jsonFile, 'utf8')) as {
    arms: Record<string, { queries: number; ctr: number; rpmMicros: number }>;
    learner: { auc: number; calibration: number } | null;
  };
  const q = result.arms.quality;
  const c = result.arms.ctr;
  console.log(
    `Machine: ${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; ${started}; load average before ${loadBefore}, after ${load()}`,
  );
  console.log(
    `Data: ${args.offers} offers (imatch start), ${args.queries} simulated queries, seed ${args.seed}, ${Math.round((Date.now() - simStarted) / 1000)} s of traffic`,
  );
  console.log(JSON.stringify(result, null, 1));
  if (q !== undefined && c !== undefined) {
    const lift = q.rpmMicros > 0 ? c.rpmMicros / q.rpmMicros - 1 : Number.NaN;
    console.log(
      `ctr arm RPM ${c.rpmMicros} vs quality ${q.rpmMicros} micros: ${(lift * 100).toFixed(1)}% (target >= +10%); CTR ${(c.ctr * 100).toFixed(2)}% vs ${(q.ctr * 100).toFixed(2)}% (target: higher)`,
    );
  }
  if (result.learner !== null)
    console.log(
      `held-out AUC ${result.learner.auc?.toFixed(3)} (target >= 0.70), calibration ${result.learner.calibration?.toFixed(3)} (target 0.9-1.1)`,
    );
} finally {
  await stopEngine();
  if (args.data === undefined) await rm(dataDir, { recursive: true, force: true });
}
