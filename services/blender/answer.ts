// The second half of an ad request, from the merger's answer text to the public answer text and
// its page-view record text: parse the merger's JSON, re-rank by pCTR in the `ctr` arm
// (ctr-ranking.ts), price, tokens and the PV record (blend.ts), serialize both. Everything here is
// CPU work on data the request already holds, so it can run on the blender's answer thread
// (answer-stage.ts) while the main thread goes on with HTTP and the merger calls; the job and the
// result are plain data (structured-clone safe) for that reason.
//
// Errors are results, not exceptions, so they cross a thread as data: a merger answer that is not
// JSON, or lacks a field the blender needs, is IM_ERR_UPSTREAM_DOWN (502), as a merger failure is.
// Pure apart from the click tokens' nonces and the clock read for tookMs; synchronous.
import fastJson from 'fast-json-stringify';
import type { ClickKeyring } from '../../core/click-token.js';
import { type ErrorCode, isImatchError } from '../../core/errors.js';
import type { Arm } from '../../core/experiment.js';
import type { MergeResponse } from '../../core/merge-contract.js';
import type { CtrModel } from '../../learner/model-file.js';
import { type BlenderHit, blend, isUsableHit } from './blend.js';
import { rankByCtr } from './ctr-ranking.js';
import type { PricingRule } from './pricing.js';
import type { QrwResult } from './qrw.js';
import { AdsResponse } from './routes/schemas.js';

/** What the main thread knows of a request once the merger answered. */
export interface AnswerJob {
  pvId: string;
  arm: Arm;
  /** Request time, ms since the epoch (the PV record's time, the tokens' issue time). */
  nowMs: number;
  /** When the request arrived, as `performance.timeOrigin + performance.now()` (any thread). */
  startedAt: number;
  rawQuery: string;
  rewrite: QrwResult;
  n: number;
  region?: string | undefined;
  category?: string | undefined;
  user?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** The merger's answer, as it came (core/merge-contract.ts MergeResponse as JSON). */
  merged: string;
  rule: PricingRule;
}

export type AnswerResult =
  | {
      ok: true;
      /** The public answer, JSON (routes/schemas.ts AdsResponse). */
      body: string;
      /** The page-view record, JSON (core/pv-record.ts). */
      pv: string;
      ads: number;
      degraded: boolean;
    }
  | { ok: false; code: ErrorCode; message: string; cause: string };

/** What answering needs besides the job: fixed for the process, or (the model) replaced at run time. */
export interface AnswerContext {
  keyring: ClickKeyring;
  /** Click URLs are `${clickBaseUrl}/c/${token}`, no trailing slash. */
  clickBaseUrl: string;
  /** The `ctr` arm's click model (undefined: none loaded, priors only). */
  clickModel: () => CtrModel | undefined;
  /** pCTR of an average-quality ad before any model is loaded. */
  ctrPrior: number;
}

/** The public answer's serializer: the same schema and compiler fastify's response schema uses. */
const serializeAnswer = fastJson(AdsResponse);

/** Milliseconds on a clock every thread of the process shares. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

function upstreamDown(message: string, cause: string): AnswerResult {
  return { ok: false, code: 'IM_ERR_UPSTREAM_DOWN', message, cause };
}

/** The merger's answer text as a MergeResponse, or why it is not one. */
function parseMerged(text: string): MergeResponse | string {
  let merged: unknown;
  try {
    merged = JSON.parse(text);
  } catch (err) {
    return `merger answer is not JSON: ${(err as Error).message}`;
  }
  const m = merged as Partial<MergeResponse> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    !Array.isArray(m.hits) ||
    m.coverage === null ||
    typeof m.coverage !== 'object' ||
    typeof m.degraded !== 'boolean'
  )
    return `merger answer lacks hits, coverage or degraded: ${text.slice(0, 300)}`;
  return m as MergeResponse;
}

export function answerOf(job: AnswerJob, ctx: AnswerContext): AnswerResult {
  const parsed = parseMerged(job.merged);
  if (typeof parsed === 'string') return upstreamDown('The merger answered with an unreadable body', parsed);
  let merged = parsed;
  let ctr: { ctrPpm: number[]; modelVersion: number } | undefined;
  try {
    if (job.arm === 'ctr') {
      const model = ctx.clickModel();
      const usable = merged.hits.filter(isUsableHit) as BlenderHit[];
      if (usable.length === merged.hits.length) {
        const ranked = rankByCtr(
          usable,
          model,
          {
            queryTokens: job.rewrite.normalized,
            nowMs: job.nowMs,
            region: job.region,
            category: job.category,
          },
          ctx.ctrPrior,
        );
        merged = { ...merged, hits: ranked.hits };
        ctr = { ctrPpm: ranked.ctrPpm, modelVersion: model?.version ?? 0 };
      } // else blend() refuses the incomplete answer with its own error
    }
    const { response, pv } = blend({
      pvId: job.pvId,
      arm: job.arm,
      ctr,
      nowMs: job.nowMs,
      rawQuery: job.rawQuery,
      rewrite: job.rewrite,
      n: job.n,
      region: job.region,
      category: job.category,
      user: job.user,
      ip: job.ip,
      userAgent: job.userAgent,
      merged,
      rule: job.rule,
      keyring: ctx.keyring,
      clickBaseUrl: ctx.clickBaseUrl,
    });
    const tookMs = Math.round((sharedNow() - job.startedAt) * 1000) / 1000;
    return {
      ok: true,
      body: serializeAnswer({ ...response, tookMs }),
      pv: JSON.stringify({ ...pv, tookMs }),
      ads: response.ads.length,
      degraded: response.degraded,
    };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    if (isImatchError(err)) return { ok: false, code: err.code, message: err.message, cause };
    return { ok: false, code: 'IM_ERR_INTERNAL', message: 'The answer could not be built', cause };
  }
}
