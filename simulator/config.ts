// The settings of `imatch simulate` (flags and IMATCH_* variables, core/config.ts), and the checks
// a schema cannot express (--arms, the delay range). Nothing here touches the network.
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, ZkSettings } from '../core/config.js';
import { ImatchError } from '../core/errors.js';
import { type ExperimentConfig, parseArmsFlag } from '../core/experiment.js';
import { MAX_USERS } from './population.js';

const HttpUrl = (description: string) => Type.String({ pattern: '^https?://[^\\s]+$', description });
const ms = (dflt: number, description: string, minimum = 0) =>
  Type.Integer({ default: dflt, minimum, description });

export const SimulateConfig = Type.Object(
  {
    dataDir: CommonSettings.dataDir,
    zkConnect: ZkSettings.zkConnect,
    zkRoot: ZkSettings.zkRoot,
    blender: HttpUrl('Base URL of the blender to query (POST /v1/ads)'),
    clickBase: Type.Optional(
      HttpUrl("The click filter's base URL; click URLs in answers are sent here (default: as they are)"),
    ),
    billing: HttpUrl("Base URL of billing (its ledger gives each arm's revenue)"),
    learner: Type.Optional(HttpUrl("The learner's base URL (default: found in ZooKeeper)")),
    arms: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Set the experiment before the traffic starts: <arm>=<percent>,... adding up to 100 (arms: quality, ctr); default: leave it as it is',
      }),
    ),
    queries: Type.Integer({ default: 10_000, minimum: 1, description: 'Queries to send' }),
    seed: Type.String({ default: 'sim', minLength: 1, description: 'Seed of users, clicks and delays' }),
    json: Type.String({ minLength: 1, description: 'Write the result document to this file' }),
    queryLog: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'queries.jsonl to draw queries from, in order, repeated when shorter (default: <data-dir>/demo/snapshot/queries.jsonl, what imatch start generates)',
      }),
    ),
    users: Type.Integer({
      default: 5_000,
      minimum: 1,
      maximum: MAX_USERS,
      description: 'Simulated users (enough that none reaches the click filter per-user limit)',
    }),
    concurrency: Type.Integer({ default: 16, minimum: 1, maximum: 512, description: 'Queries in flight' }),
    adsPerQuery: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 20,
      description: 'Ads asked for per query',
    }),
    minClickDelayMs: ms(
      1_500,
      "A click comes at least this long after its page view (keep it above the click filter's minDelayAfterPvMs)",
    ),
    maxClickDelayMs: ms(8_000, 'A click comes at most this long after its page view'),
    settleTimeoutMs: ms(60_000, "How long to wait for billing's ledger to hold every click", 1),
    progressMs: ms(5_000, 'Progress line on stderr this often (0 = never)'),
    requestTimeoutMs: ms(10_000, 'Timeout of one HTTP request', 1),
  },
  { additionalProperties: false },
);
export type SimulateConfig = Static<typeof SimulateConfig>;

/** The experiment --arms sets, or undefined to leave ZooKeeper's as it is. Throws IM_ERR_CONFIG. */
export function experimentOf(config: Pick<SimulateConfig, 'arms'>): ExperimentConfig | undefined {
  if (config.arms === undefined) return undefined;
  try {
    return parseArmsFlag(config.arms);
  } catch (err) {
    throw new ImatchError('IM_ERR_CONFIG', (err as Error).message);
  }
}

/** Checks across settings the schema cannot express. Throws IM_ERR_CONFIG. */
export function checkSimulateConfig(config: SimulateConfig): void {
  if (config.maxClickDelayMs < config.minClickDelayMs)
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `--max-click-delay-ms (${config.maxClickDelayMs}) must be at least --min-click-delay-ms (${config.minClickDelayMs})`,
    );
  experimentOf(config);
}

export function queryLogOf(config: Pick<SimulateConfig, 'queryLog' | 'dataDir'>): string {
  return config.queryLog ?? join(config.dataDir, 'demo', 'snapshot', 'queries.jsonl');
}
