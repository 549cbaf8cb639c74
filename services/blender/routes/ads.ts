// GET /v1/ads and POST /v1/ads: the public ad query (DESIGN.md "Ad query"). One request:
// QRW (qrw.ts) -> POST /merge asking n+1 ads (merger-client.ts) -> GSP prices and click tokens
// (blend.ts) -> one page-view record queued (pv-log.ts, not awaited) -> answer. The POST form is
// for the search front end, which passes the end user's ip and userAgent (GET cannot know them:
// the caller is the front end, not the user).
//
// Concurrency: one event loop; a request reads the run-time settings (dictionary, pricing rule)
// once at its start, so a ZooKeeper update never changes an answer half-way.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import ipaddr from 'ipaddr.js';
import { type ClickKeyring, clientDigest } from '../../../core/click-token.js';
import type { Clock } from '../../../core/clock.js';
import { ImatchError, isImatchError } from '../../../core/errors.js';
import { armOf } from '../../../core/experiment.js';
import type { PvRecord } from '../../../core/pv-record.js';
import type { CtrModel } from '../../../learner/model-file.js';
import { Admission } from '../admission.js';
import { BLENDER_FIELDS, type BlenderHit, blend, isUsableHit } from '../blend.js';
import { rankByCtr } from '../ctr-ranking.js';
import type { MergerClient } from '../merger-client.js';
import type { BlenderMetrics } from '../metrics.js';
import { rewriteQuery } from '../qrw.js';
import type { RuntimeSettings } from '../runtime-config.js';
import { AdsBody, AdsQuery, AdsResponse, ErrorBody } from './schemas.js';

/** Where page-view records go (PvLog in the server, an array in tests). */
export interface PvWriter {
  append(record: PvRecord): boolean;
}

export interface AdsRouteOptions {
  merger: MergerClient;
  pvLog: PvWriter;
  runtime: RuntimeSettings;
  keyring: ClickKeyring;
  clock: Clock;
  metrics: BlenderMetrics;
  clickBaseUrl: string;
  textExpansion: boolean;
  /** Admission control (admission.ts): the most ad requests answered at once... */
  maxInFlight: number;
  /** ...and the average latency (ms) above which that limit shrinks. */
  admissionTargetMs: number;
  /** The `ctr` arm's click model (undefined: none loaded, priors only). */
  clickModel: () => CtrModel | undefined;
  /** Candidates the `ctr` arm asks the merger for and re-ranks. */
  ctrCandidates: number;
  /** pCTR of an average-quality ad before any model is loaded. */
  ctrPrior: number;
}

interface AdsInput {
  q: string;
  n: number;
  region?: string | undefined;
  category?: string | undefined;
  user?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

const ERRORS = { 400: ErrorBody, 502: ErrorBody, 503: ErrorBody, 504: ErrorBody };

/** The answer to a request refused by admission control (no stack, no log line: it is the plan). */
const OVERLOADED = new ImatchError(
  'IM_ERR_OVERLOADED',
  'Too many ad requests are being answered right now; retry after the time in Retry-After',
).toBody();

export function adsRoutes(app: FastifyInstance, opts: AdsRouteOptions): void {
  const { merger, pvLog, runtime, keyring, clock, metrics } = opts;
  const clickBaseUrl = opts.clickBaseUrl.replace(/\/+$/, '');
  const admission = new Admission({
    maxLimit: opts.maxInFlight,
    minLimit: 8,
    targetMs: opts.admissionTargetMs,
  });
  metrics.watchAdmission(() => ({
    limit: admission.limit,
    inFlight: admission.inFlight,
    overLimit: admission.overLimit,
  }));

  /** Admission control around answer(): the excess is answered 503 at once, never queued. */
  async function admitted(input: AdsInput, reply: FastifyReply): Promise<AdsResponse | ErrorBody> {
    if (!admission.tryEnter()) {
      metrics.shed.inc();
      reply.code(503).header('retry-after', '1');
      return OVERLOADED;
    }
    const started = performance.now();
    try {
      return await answer(input, reply);
    } finally {
      admission.leave(performance.now() - started);
    }
  }

  async function answer(input: AdsInput, reply: FastifyReply): Promise<AdsResponse> {
    if (input.ip !== undefined && !ipaddr.isValid(input.ip))
      throw new ImatchError(
        'IM_ERR_BAD_QUERY',
        `Invalid parameter "ip": ${JSON.stringify(input.ip)} is not an IPv4 or IPv6 address`,
      );
    const qrw = runtime.qrw;
    const rule = runtime.pricing;
    const rewrite = rewriteQuery(qrw, input.q);
    if (rewrite.tokens.length === 0)
      throw new ImatchError(
        'IM_ERR_BAD_QUERY',
        'Invalid parameter "q": it has no searchable words (only punctuation or symbols)',
      );
    const pvId = randomUUID();
    const nowMs = clock.now();
    // The experiment arm of this user (the request's user id, else its ip and user agent).
    const arm = armOf(runtime.experiment, input.user ?? clientDigest(input.ip, input.userAgent));
    const asked = arm === 'ctr' ? Math.max(input.n + 1, opts.ctrCandidates) : input.n + 1;
    const mergeStarted = performance.now();
    let merged: Awaited<ReturnType<MergerClient['merge']>>;
    try {
      merged = await merger.merge({
        query: rewrite.query,
        n: asked,
        ...(input.region === undefined ? {} : { region: input.region }),
        ...(input.category === undefined ? {} : { category: input.category }),
        fields: [...BLENDER_FIELDS],
        textExpansion: opts.textExpansion,
      });
      metrics.mergerDuration.observe({ outcome: 'ok' }, (performance.now() - mergeStarted) / 1000);
    } catch (err) {
      const code = isImatchError(err) ? err.code : 'IM_ERR_INTERNAL';
      metrics.mergerDuration.observe({ outcome: code }, (performance.now() - mergeStarted) / 1000);
      metrics.upstreamErrors.inc({ code });
      throw err;
    }
    let ctr: { ctrPpm: number[]; modelVersion: number } | undefined;
    if (arm === 'ctr') {
      const model = opts.clickModel();
      const usable = merged.hits.filter(isUsableHit) as BlenderHit[];
      if (usable.length === merged.hits.length) {
        const ranked = rankByCtr(
          usable,
          model,
          { queryTokens: rewrite.normalized, nowMs, region: input.region, category: input.category },
          opts.ctrPrior,
        );
        merged = { ...merged, hits: ranked.hits };
        ctr = { ctrPpm: ranked.ctrPpm, modelVersion: model?.version ?? 0 };
      } // else blend() refuses the incomplete answer with its own error
    }
    metrics.armAnswers.inc({ arm });
    const { response, pv } = blend({
      pvId,
      arm,
      ctr,
      nowMs,
      rawQuery: input.q,
      rewrite,
      n: input.n,
      region: input.region,
      category: input.category,
      user: input.user,
      ip: input.ip,
      userAgent: input.userAgent,
      merged,
      rule,
      keyring,
      clickBaseUrl,
    });
    const tookMs = Math.round(reply.elapsedTime * 1000) / 1000;
    pvLog.append({ ...pv, tookMs });
    metrics.adsShown.inc(response.ads.length);
    metrics.answers.inc({
      outcome: response.degraded ? 'degraded' : response.ads.length === 0 ? 'empty' : 'full',
    });
    return { ...response, tookMs };
  }

  app.get<{ Querystring: AdsQuery; Reply: AdsResponse | ErrorBody }>(
    '/v1/ads',
    {
      schema: {
        summary: 'Ads for a search query',
        description:
          'Rewrites the query (QRW), asks a merger for n+1 ads, prices the n shown ads by GSP and returns them with encrypted click URLs.',
        tags: ['ads'],
        querystring: AdsQuery,
        response: { 200: AdsResponse, ...ERRORS },
      },
    },
    (request, reply) => admitted(request.query, reply),
  );

  app.post<{ Body: AdsBody; Reply: AdsResponse | ErrorBody }>(
    '/v1/ads',
    {
      schema: {
        summary: "Ads for a search query, with the end user's IP and user agent",
        description:
          'The form for the search front end: the same fields as GET /v1/ads as a JSON body, plus ip and userAgent of the end user (they go into the page-view record and, digested, into every click token).',
        tags: ['ads'],
        body: AdsBody,
        response: { 200: AdsResponse, ...ERRORS },
      },
    },
    (request, reply) => admitted(request.body, reply),
  );
}
