// `imatch start`: the whole engine on this machine, for a first look and for the end-to-end test.
// Steps: fetch and start ZooKeeper and Kafka (reused when already up), generate demo BP data
// (once; reused on the next start), build and publish the index when ZooKeeper has no usable
// current version, create the Kafka topics, then start 2 columns x 2 searcher replicas, a merger,
// dispatch, a blender, the click filter, billing and reports as separate processes, wait until each
// answers /readyz, and print their URLs with working examples. SIGINT/SIGTERM stops everything
// (services first, newest first, then the servers). Runs on the main thread; services are
// children (bin/start/supervisor.ts). On the terminal: this command's own progress lines and the
// summary; every child's output (JSON logs, generator and index-builder progress) goes to its log
// file under <data-dir>/demo/logs. Command lines come from bin/launch/command-line.ts.

import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type Static, Type } from '@sinclair/typebox';
import { request } from 'undici';
import { generateClickSecret } from '../../core/click-token.js';
import { CommonSettings, KafkaSettings } from '../../core/config.js';
import { createKafka, ensureTopics } from '../../core/kafka.js';
import type { Logger } from '../../core/logger.js';
import type { Customer } from '../../core/model.js';
import { CLICK_FILTER_NODE_FLAGS, FRONT_NODE_FLAGS, SEARCHER_NODE_FLAGS } from '../../core/node-flags.js';
import { type IndexPointer, zkPaths } from '../../core/zk-paths.js';
import { connectZk } from '../../core/zookeeper.js';
import { downServers, upServers } from '../../infra/servers.js';
import { expandPath, InfraSettings, infraDirOf } from '../../infra/settings.js';
import { commandLine, IMATCH_JS } from '../launch/command-line.js';
import { Supervisor, tail } from './supervisor.js';

const port = (dflt: number, description: string) =>
  Type.Integer({ default: dflt, minimum: 1, maximum: 65535, description });

export const StartConfig = Type.Object({
  ...CommonSettings,
  ...InfraSettings,
  zkRoot: Type.String({ default: '/imatch', pattern: '^/[A-Za-z0-9_./-]*$', description: 'Root znode' }),
  offers: Type.Integer({
    default: 20_000,
    minimum: 100,
    maximum: 2_000_000,
    description: 'Demo offers to generate',
  }),
  seed: Type.String({ default: 'demo', minLength: 1, description: 'Seed of the demo data' }),
  columns: Type.Integer({ default: 2, minimum: 1, maximum: 16, description: 'Index columns' }),
  replicas: Type.Integer({ default: 2, minimum: 1, maximum: 4, description: 'Searcher replicas per column' }),
  blenderPort: port(8080, 'Blender (public ad query API) port'),
  clickPort: port(8081, 'Click filter port (click URLs point here)'),
  dispatchPort: port(8082, 'Dispatch (BP change API) port'),
  mergerPort: port(8083, 'Merger port'),
  billingPort: port(8084, 'Billing port'),
  reportsPort: port(8085, 'Reports and live dashboard port'),
  learnerPort: port(8086, 'Click-through learner port'),
  clickTrustProxy: Type.Boolean({
    default: false,
    description:
      'Let the click filter take the client address from X-Forwarded-For (for a traffic simulator or a proxy in front of it)',
  }),
  searcherBasePort: port(8090, 'First searcher port (column c, replica r gets base + c x replicas + r)'),
  secret: Type.String({
    default: 'demo-secret-change-me',
    minLength: 16,
    description: 'Dispatch shared secret for the demo',
  }),
  topicChanges: KafkaSettings.topicChanges,
  topicPv: KafkaSettings.topicPv,
  topicClicks: KafkaSettings.topicClicks,
  topicSettlement: KafkaSettings.topicSettlement,
  topicCorrections: KafkaSettings.topicCorrections,
});
export type StartConfig = Static<typeof StartConfig>;

const CLI = IMATCH_JS;

export async function runStart(config: StartConfig, log: Logger): Promise<void> {
  const dataDir = resolve(expandPath(config.dataDir));
  const demoDir = join(dataDir, 'demo');
  const snapshotDir = join(demoDir, 'snapshot');
  const indexDir = join(demoDir, 'index');
  const infraDir = infraDirOf(config.dataDir);
  await mkdir(demoDir, { recursive: true });

  const logDir = join(demoDir, 'logs');
  const sup = new Supervisor(logDir, log);
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      log.info({ why }, 'stopping the engine');
      await sup.stopAll();
      await downServers(infraDir, log);
      log.info('stopped');
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    void stop(sig).then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log.info('starting ZooKeeper and Kafka (fetched from Maven Central the first time)');
    const up = await upServers({
      infraDir,
      cacheDir: config.infraCacheDir,
      zkPort: config.zkPort,
      kafkaPort: config.kafkaPort,
      kafkaControllerPort: config.kafkaControllerPort,
      zkHeap: config.zkHeap,
      kafkaHeap: config.kafkaHeap,
      startTimeoutMs: config.infraStartTimeoutMs,
      jvmArgs: [...config.infraJvmArgs],
      log,
    });
    const zkConnect = up.zookeeper.address;
    const brokers = up.kafka.address;

    if (!existsSync(join(snapshotDir, 'snapshot.json'))) {
      log.info({ offers: config.offers }, 'generating demo BP data');
      await runCli(
        [
          'gen',
          '--out',
          snapshotDir,
          '--offers',
          String(config.offers),
          '--seed',
          config.seed,
          '--queries',
          '5000',
          '--changes',
          '2000',
          '--progress',
          'log',
        ],
        log,
        logDir,
      );
    } else {
      log.info({ snapshotDir }, 'reusing demo data');
    }

    const pointer = await currentPointer(zkConnect, config.zkRoot);
    if (pointer === undefined || !existsSync(pointer.dir) || pointer.columns !== config.columns) {
      log.info('building and publishing the index');
      await runCli(
        [
          'build-index',
          '--snapshot',
          snapshotDir,
          '--columns',
          String(config.columns),
          '--out',
          indexDir,
          '--publish',
          '--zk-connect',
          zkConnect,
          '--zk-root',
          config.zkRoot,
          '--progress',
          'log',
        ],
        log,
        logDir,
      );
    } else {
      log.info({ version: pointer.version }, 'reusing the published index');
    }

    const kafka = createKafka({ brokers: [brokers], clientId: 'imatch-start', log });
    await ensureTopics(kafka, [
      config.topicChanges,
      config.topicPv,
      config.topicClicks,
      config.topicSettlement,
      config.topicCorrections,
    ]);

    const keys = await demoClickKeys(join(demoDir, 'click-keys.json'));
    const common = { zkConnect, zkRoot: config.zkRoot, kafkaBrokers: [brokers] };
    const url = (p: number) => `http://127.0.0.1:${p}`;

    await sup.start({
      name: 'dispatch',
      args: [
        CLI,
        ...commandLine('dispatch', {
          ...common,
          port: config.dispatchPort,
          secret: config.secret,
          dataDir: join(demoDir, 'dispatch'),
        }),
      ],
      url: url(config.dispatchPort),
    });
    const searchers: Promise<void>[] = [];
    for (let c = 0; c < config.columns; c++) {
      for (let r = 0; r < config.replicas; r++) {
        const p = config.searcherBasePort + c * config.replicas + r;
        searchers.push(
          sup.start({
            name: `searcher-c${c}-r${r}`,
            args: [
              ...SEARCHER_NODE_FLAGS,
              CLI,
              ...commandLine('searcher', {
                ...common,
                column: c,
                replica: `r${r}`,
                port: p,
                dataDir: join(demoDir, `searcher-c${c}-r${r}`),
                debugEndpoints: true,
              }),
            ],
            url: url(p),
          }),
        );
      }
    }
    await Promise.all(searchers);
    await sup.start({
      name: 'merger',
      args: [
        ...FRONT_NODE_FLAGS,
        CLI,
        ...commandLine('merger', { zkConnect, zkRoot: config.zkRoot, port: config.mergerPort }),
      ],
      url: url(config.mergerPort),
    });
    const clickKeys = { clickKeys: [keys.spec], clickKeyId: keys.kid };
    await sup.start({
      name: 'blender',
      args: [
        ...FRONT_NODE_FLAGS,
        CLI,
        ...commandLine('blender', {
          ...common,
          ...clickKeys,
          port: config.blenderPort,
          mergerUrl: [url(config.mergerPort)],
          clickBaseUrl: url(config.clickPort),
        }),
      ],
      url: url(config.blenderPort),
    });
    await sup.start({
      name: 'click-filter',
      args: [
        ...CLICK_FILTER_NODE_FLAGS,
        CLI,
        ...commandLine('click-filter', {
          ...common,
          ...clickKeys,
          port: config.clickPort,
          trustProxy: config.clickTrustProxy,
        }),
      ],
      url: url(config.clickPort),
    });
    await sup.start({
      name: 'billing',
      args: [
        CLI,
        ...commandLine('billing', {
          ...common,
          port: config.billingPort,
          ledgerDir: join(demoDir, 'ledger'),
          dispatchUrl: url(config.dispatchPort),
          dispatchSecret: config.secret,
          snapshotDir,
        }),
      ],
      url: url(config.billingPort),
    });

    await sup.start({
      name: 'reports',
      args: [
        CLI,
        ...commandLine('reports', {
          ...common,
          port: config.reportsPort,
          dbPath: join(demoDir, 'reports', 'reports.duckdb'),
        }),
      ],
      url: url(config.reportsPort),
    });

    await sup.start({
      name: 'learner',
      args: [
        CLI,
        ...commandLine('learner', {
          ...common,
          port: config.learnerPort,
          stateDir: join(demoDir, 'learner'),
        }),
      ],
      url: url(config.learnerPort),
    });

    const examples = await buildExamples(config, snapshotDir);
    process.stdout.write(banner(zkConnect, brokers, sup, examples, logDir));
    log.info('engine ready; Ctrl-C stops everything');
  } catch (err) {
    await stop('start failed');
    throw err;
  }
  await new Promise<never>(() => {});
}

async function currentPointer(zkConnect: string, root: string): Promise<IndexPointer | undefined> {
  const zk = await connectZk({ connect: zkConnect, sessionTimeoutMs: 10_000 });
  try {
    const node = await zk.get(zkPaths(root).indexCurrent);
    if (node === null) return undefined;
    return JSON.parse(node.data.toString('utf8')) as IndexPointer;
  } finally {
    await zk.close();
  }
}

async function demoClickKeys(path: string): Promise<{ spec: string; kid: string }> {
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as { spec: string; kid: string };
  const keys = { spec: `1:${generateClickSecret()}`, kid: '1' };
  await writeFile(path, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

/**
 * Runs `imatch <args>` to the end with its output in `<logDir>/<command>.log` (the terminal keeps
 * only this command's own progress lines); a failure names the log and shows its last lines.
 */
async function runCli(args: string[], log: Logger, logDir: string): Promise<void> {
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, `${args[0]}.log`);
  const out = createWriteStream(logPath, { flags: 'a' });
  const started = Date.now();
  log.debug({ args }, 'running');
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once('error', reject);
    child.once('close', (code) => {
      out.end(() => {
        if (code === 0) resolvePromise();
        else
          reject(new Error(`imatch ${args[0]} exited with ${code}; ${logPath} ends with:\n${tail(logPath)}`));
      });
    });
  });
  log.info({ seconds: (Date.now() - started) / 1000, log: logPath }, `imatch ${args[0]} done`);
}

interface Examples {
  query: string;
  change: string;
  changedQuery: string;
  click: string | undefined;
  spend: string;
  dashboard: string;
  report: string;
  experiment: string;
  learner: string;
}

/** The click filter does not bill clicks without a user agent or from crawlers: click as a browser. */
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';

/** A query with ads, a change that shows up in the next query, and a real click URL. */
async function buildExamples(config: StartConfig, snapshotDir: string): Promise<Examples> {
  const customer = await firstOnlineCustomer(join(snapshotDir, 'customers.jsonl'));
  const blender = `http://127.0.0.1:${config.blenderPort}`;
  const query = await firstQueryWithAds(blender, join(snapshotDir, 'queries.jsonl'));
  const suffix = Date.now().toString(36);
  const offerId = `o-demo-${suffix}`;
  const body = {
    changes: [
      {
        entity: 'offer',
        op: 'upsert',
        data: {
          id: offerId,
          customerId: customer.id,
          title: 'iMatch Demo Rocket Skates',
          category: 'sports/skating',
          imageUrl: 'https://img.example.com/demo/rocket-skates.jpg',
          landingUrl: 'https://shop.example.com/demo/rocket-skates',
          status: 'online',
          quality: 0.9,
        },
      },
      {
        entity: 'bidword',
        op: 'upsert',
        data: {
          id: `b-demo-${suffix}`,
          offerId,
          keyword: 'rocket skates',
          matchType: 'phrase',
          bidMicros: 3_000_000,
          status: 'online',
        },
      },
    ],
  };
  let click: string | undefined;
  let clickCustomer = '<customerId>';
  try {
    const res = await request(`${blender}/v1/ads?q=${encodeURIComponent(query)}&n=3`);
    const answer = (await res.body.json()) as { ads?: { clickUrl: string; customerId: string }[] };
    click = answer.ads?.[0]?.clickUrl;
    clickCustomer = answer.ads?.[0]?.customerId ?? clickCustomer;
  } catch {
    click = undefined;
  }
  return {
    query: `curl -s '${blender}/v1/ads?q=${encodeURIComponent(query)}&n=3'`,
    change: `curl -s -X POST http://127.0.0.1:${config.dispatchPort}/v1/changes -H 'Authorization: Bearer ${config.secret}' -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`,
    changedQuery: `curl -s '${blender}/v1/ads?q=rocket+skates&n=3'`,
    click: click === undefined ? undefined : `curl -si -A '${BROWSER_UA}' '${click}'`,
    spend: `curl -s 'http://127.0.0.1:${config.billingPort}/v1/spend?customer=${clickCustomer}'`,
    dashboard: `http://127.0.0.1:${config.reportsPort}/dashboard`,
    report: `curl -s 'http://127.0.0.1:${config.reportsPort}/v1/reports/customers/${clickCustomer}'`,
    experiment: `node bin/imatch.js experiment --zk-connect 127.0.0.1:${config.zkPort} --zk-root ${config.zkRoot} --arms quality=50,ctr=50`,
    learner: `curl -s http://127.0.0.1:${config.learnerPort}/v1/learner/stats`,
  };
}

async function firstOnlineCustomer(path: string): Promise<Customer> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const c = JSON.parse(line) as Customer;
    if (c.status === 'online' && c.regions === undefined) {
      lines.close();
      return c;
    }
  }
  throw new Error(`no online customer without region limits in ${path}`);
}

async function firstQueryWithAds(blender: string, queriesPath: string): Promise<string> {
  const lines = createInterface({
    input: createReadStream(queriesPath),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let tried = 0;
  for await (const line of lines) {
    const { q } = JSON.parse(line) as { q: string };
    const res = await request(`${blender}/v1/ads?q=${encodeURIComponent(q)}&n=3`);
    const answer = (await res.body.json()) as { ads?: unknown[] };
    if ((answer.ads?.length ?? 0) > 0) {
      lines.close();
      return q;
    }
    if (++tried > 200) break;
  }
  lines.close();
  return 'shoes';
}

function banner(zk: string, kafka: string, sup: Supervisor, ex: Examples, logDir: string): string {
  const rows = sup.children.map((c) => `  ${c.name.padEnd(16)} ${c.url ?? ''}  (pid ${c.pid})`).join('\n');
  return `
iMatch-TS is running.

  zookeeper        ${zk}
  kafka            ${kafka}
${rows}

Logs: ${logDir}

1. Ask for ads (the public query API):
   ${ex.query}

2. Send an advertiser change through dispatch (a new offer bidding on "rocket skates"):
   ${ex.change}
   ...and see it in the next query, a fraction of a second later:
   ${ex.changedQuery}

3. Click an ad (302 to the landing page; a genuine click is billed once, at its price):
   ${ex.click ?? '(take any clickUrl from the answers above and open it)'}
   ...and see the advertiser's spend for today:
   ${ex.spend}

4. Watch it live (queries/s, clicks/s, spend, top keywords; updates every second):
   ${ex.dashboard}
   ...and the advertiser's report for today (impressions, clicks, invalid clicks, cost):
   ${ex.report}

5. Let the learned click model rank half of the users (bid x pCTR instead of bid x quality):
   ${ex.experiment}
   ...and see what it has learned (held-out AUC, calibration, model version):
   ${ex.learner}

Ctrl-C stops everything.
`;
}
