// `imatch simulate`'s run: sets the experiment, drives the engine with `concurrency` query loops
// over the query log (query i is sent by Population.userOf(i)), lets the hidden click model
// (click-model.ts) decide each impression, and sends each click through its real click URL after
// a human delay, from the same address and user agent the query came from (the click token binds
// the blender's client digest of both). Then it waits for billing's ledger, reads the learner's
// held-out figures and writes the result document.
//
// Concurrency: one event loop. `concurrency` async loops take the next query index from a shared
// counter; clicks are timers, so the query loops never wait for them. Ctrl-C (or SIGTERM) stops
// issuing queries, lets every scheduled click happen, and still writes the document.
import { readFile, writeFile } from 'node:fs/promises';
import { ImatchError } from '../core/errors.js';
import type { ExperimentConfig } from '../core/experiment.js';
import { parseServiceRegistration } from '../core/registrations.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk } from '../core/zookeeper.js';
import { TrueClickModel } from './click-model.js';
import { queryLogOf, type SimulateConfig } from './config.js';
import { type AnswerAd, EngineClient } from './engine-client.js';
import { LedgerCheck, type LedgerCheckResult } from './ledger-check.js';
import { Population } from './population.js';
import { type ArmReport, type LearnerReport, Tally } from './tally.js';

export interface LoggedQuery {
  q: string;
  region?: string;
  category?: string;
}

export interface SimulationResult {
  arms: Record<string, ArmReport>;
  learner: LearnerReport | null;
  seed: string;
  queriesRequested: number;
  queriesSent: number;
  users: number;
  experiment: ExperimentConfig['arms'] | null;
  durationMs: number;
  interrupted: boolean;
  /** Clicks the click filter did not redirect, by status. */
  invalidClicks: Record<string, number>;
  failedQueries: Record<string, number>;
  /** The click filter's decisions during the run, by reason (ok = billable); null if unreadable. */
  clickDecisions: Record<string, number> | null;
  ledger: LedgerCheckResult;
  learnerModelVersion: number | null;
}

export interface RunDeps {
  /** Progress and notices (stderr in the command). */
  say: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  stopSignal: Promise<void>;
  now?: () => number;
}

export async function runSimulation(
  config: SimulateConfig,
  experiment: ExperimentConfig | undefined,
  deps: RunDeps,
): Promise<SimulationResult> {
  const now = deps.now ?? Date.now;
  const queries = await readQueryLog(queryLogOf(config));
  const model = new TrueClickModel(config.seed, {
    minDelayMs: config.minClickDelayMs,
    maxDelayMs: config.maxClickDelayMs,
  });
  const population = new Population(config.seed, config.users);
  const client = new EngineClient({
    blender: config.blender,
    billing: config.billing,
    clickBase: config.clickBase,
    connections: config.concurrency * 2,
    timeoutMs: config.requestTimeoutMs,
  });
  const tally = new Tally();
  const ledger = new LedgerCheck(client);

  try {
    if (experiment !== undefined) {
      await setExperiment(config, experiment);
      deps.say(`simulate: experiment set: ${JSON.stringify(experiment.arms)}`);
      for (const arm of Object.keys(experiment.arms)) tally.declare(arm);
    }
    try {
      await ledger.start();
    } catch (err) {
      throw new ImatchError(
        'IM_ERR_UPSTREAM_DOWN',
        `billing at ${config.billing}: ${(err as Error).message}`,
      );
    }
    const decisionsBefore = await client.clickDecisions();
    if (decisionsBefore === undefined)
      deps.say(
        `simulate: the click filter's /metrics ${config.clickBase === undefined ? 'is not known (no --click-base)' : 'could not be read'}: clicks it redirects but does not bill will not be named`,
      );

    let stopping = false;
    void deps.stopSignal.then(() => {
      if (!stopping) deps.say('simulate: stopping: no new queries, waiting for the scheduled clicks');
      stopping = true;
    });

    const pending = new Set<Promise<void>>();
    const scheduleClick = (
      arm: string | undefined,
      ad: AnswerAd,
      user: ReturnType<Population['user']>,
      delayMs: number,
    ) => {
      tally.clicksScheduled++;
      const baseline = ledger.baseline(ad.customerId).catch(() => undefined);
      const p = new Promise<void>((resolve) => setTimeout(resolve, delayMs))
        .then(() => baseline)
        .then(() => client.click(ad.clickUrl, user.ip, user.userAgent))
        .then((status) => tally.click(arm, status, ad.priceMicros));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };

    const started = now();
    let nextIndex = 0;
    const loop = async () => {
      while (!stopping) {
        const i = nextIndex++;
        if (i >= config.queries) return;
        const entry = queries[i % queries.length]!;
        const user = population.userOf(i);
        tally.queriesSent++;
        const out = await client.ads({
          q: entry.q,
          n: config.adsPerQuery,
          user: user.id,
          ip: user.ip,
          userAgent: user.userAgent,
          ...(entry.region === undefined ? {} : { region: entry.region }),
          ...(entry.category === undefined ? {} : { category: entry.category }),
        });
        if (!out.ok) {
          tally.failedQuery(out.status);
          continue;
        }
        const { arm, ads } = out.value;
        tally.answer(arm, ads.length);
        for (const ad of ads) {
          const c = model.decide({
            queryIndex: i,
            position: ad.position,
            keyword: ad.keyword,
            offerId: ad.offerId,
          });
          if (c.clicked) scheduleClick(arm, ad, user, c.delayMs);
        }
      }
    };

    const progress =
      config.progressMs > 0
        ? setInterval(() => {
            const s = (now() - started) / 1000;
            deps.say(
              `simulate: ${tally.queriesSent}/${config.queries} queries, ${(tally.queriesSent / s).toFixed(0)} q/s, ` +
                `${tally.clicks} clicks sent, ${pending.size} scheduled` +
                (Object.keys(tally.failedQueries).length > 0
                  ? `, failed queries ${JSON.stringify(tally.failedQueries)}`
                  : ''),
            );
          }, config.progressMs)
        : undefined;
    progress?.unref();
    try {
      await Promise.all(Array.from({ length: config.concurrency }, loop));
      while (pending.size > 0) await Promise.all([...pending]);
    } finally {
      if (progress !== undefined) clearInterval(progress);
    }
    const durationMs = now() - started;
    deps.say(
      `simulate: ${tally.queriesSent} queries and ${tally.clicks} redirected clicks in ${(durationMs / 1000).toFixed(1)} s; waiting for billing's ledger`,
    );

    const decisionsAfter = await client.clickDecisions();
    const clickDecisions =
      decisionsBefore === undefined || decisionsAfter === undefined
        ? null
        : diff(decisionsAfter, decisionsBefore);
    const billable = clickDecisions === null ? tally.clicks : (clickDecisions.ok ?? 0);
    const ledgerResult = await ledger.finish(tally.costMicros, billable, config.settleTimeoutMs);
    if (!ledgerResult.ok && clickDecisions !== null) {
      const refused = Object.entries(clickDecisions).filter(([reason, n]) => reason !== 'ok' && n > 0);
      if (refused.length > 0)
        ledgerResult.problem += `; the click filter redirected but did not bill: ${refused.map(([r, n]) => `${r} ${n}`).join(', ')}`;
    }

    const learner = await readLearner(config, client, deps.say);
    return {
      arms: tally.report(),
      learner: learner?.report ?? null,
      seed: config.seed,
      queriesRequested: config.queries,
      queriesSent: tally.queriesSent,
      users: config.users,
      experiment: experiment?.arms ?? null,
      durationMs,
      interrupted: stopping,
      invalidClicks: tally.invalidClicks,
      failedQueries: tally.failedQueries,
      clickDecisions,
      ledger: ledgerResult,
      learnerModelVersion: learner?.modelVersion ?? null,
    };
  } finally {
    await client.close();
  }
}

export async function writeResult(path: string, result: SimulationResult): Promise<void> {
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
}

/** queries.jsonl (docs/data-format.md): one `{"q", "region"?, "category"?}` per line. */
export async function readQueryLog(path: string): Promise<LoggedQuery[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ImatchError(
      'IM_ERR_NOT_FOUND',
      `no query log at ${path} (give --query-log, or run imatch start / imatch gen first)`,
    );
  }
  const out: LoggedQuery[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let v: Partial<LoggedQuery>;
    try {
      v = JSON.parse(line) as Partial<LoggedQuery>;
    } catch {
      throw new ImatchError('IM_ERR_BAD_ROW', `${path}:${n + 1}: not JSON`);
    }
    if (typeof v.q !== 'string' || v.q === '')
      throw new ImatchError('IM_ERR_BAD_ROW', `${path}:${n + 1}: no "q"`);
    out.push({
      q: v.q,
      ...(typeof v.region === 'string' ? { region: v.region } : {}),
      ...(typeof v.category === 'string' ? { category: v.category } : {}),
    });
  }
  if (out.length === 0) throw new ImatchError('IM_ERR_BAD_ROW', `${path}: no queries`);
  return out;
}

async function setExperiment(config: SimulateConfig, experiment: ExperimentConfig): Promise<void> {
  const zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: 10_000 });
  try {
    await zk.put(zkPaths(config.zkRoot).configExperiment, JSON.stringify(experiment));
  } finally {
    await zk.close();
  }
  // Blenders watch the node and apply it within a round trip; give them that round trip.
  await new Promise((r) => setTimeout(r, 1_000));
}

async function readLearner(
  config: SimulateConfig,
  client: EngineClient,
  say: (line: string) => void,
): Promise<{ report: LearnerReport; modelVersion: number } | undefined> {
  let url = config.learner;
  if (url === undefined) {
    try {
      url = await findLearner(config);
    } catch (err) {
      say(`simulate: could not look for a learner in ZooKeeper: ${(err as Error).message}`);
    }
  }
  if (url === undefined) {
    say(
      `simulate: no learner registered under ${zkPaths(config.zkRoot).serviceKind('learner')}: learner: null`,
    );
    return undefined;
  }
  const out = await client.learnerStats(url);
  if (!out.ok) {
    say(`simulate: the learner at ${url} answered ${out.status}: learner: null`);
    return undefined;
  }
  const s = out.value;
  return {
    report: {
      examples: s.examples,
      logLoss: s.heldOut.logLoss,
      auc: s.heldOut.auc,
      normalizedEntropy: s.heldOut.normalizedEntropy,
      calibration: s.heldOut.calibration,
    },
    modelVersion: s.modelVersion,
  };
}

async function findLearner(config: SimulateConfig): Promise<string | undefined> {
  const zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: 10_000 });
  try {
    const dir = zkPaths(config.zkRoot).serviceKind('learner');
    if ((await zk.exists(dir)) === null) return undefined;
    for (const name of (await zk.children(dir)).sort()) {
      const node = await zk.get(`${dir}/${name}`);
      const reg = node === null ? undefined : parseServiceRegistration(node.data, name);
      if (reg !== undefined) return reg.url;
    }
    return undefined;
  } finally {
    await zk.close();
  }
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
