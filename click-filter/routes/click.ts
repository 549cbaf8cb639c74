// GET /c/<token>: the click. A token that does not verify (bad format, unknown key id, failed
// authentication) gets a 400 HTML page with no Location header, is logged (rate-limited) and
// counted; it never redirects. A genuine token always gets a 302 to the landing URL it carries,
// billable or not, after its decision is written:
//   - logMode await (default): the redirect waits until Kafka acknowledged the decision and, for a
//     billable click, its settlement record (acks=all, one request for both), at most kafkaWaitMs;
//     past that the user is redirected anyway and the decision keeps being retried in the
//     background (billed if and when it gets through; dropped, counted and logged in full after
//     maxDecisionRetryMs). So an acknowledged redirect means a durable decision, and Kafka being
//     down costs latency (up to kafkaWaitMs) and possibly revenue, never a user's redirect.
//   - logMode async: the redirect is answered at once, the write happens behind it.
// HEAD /c/<token> answers like GET for a genuine token but records nothing (link checkers and
// prefetchers are not clicks).
//
// Concurrency: the pipeline runs synchronously; the only await is the Kafka write.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_TOKEN_CHARS } from '../../core/click-token.js';
import type { Logger } from '../../core/logger.js';
import type { DecisionLog } from '../decision-log.js';
import type { ClickFilterMetrics } from '../metrics.js';
import type { ClickPipeline } from '../pipeline.js';

const BAD_TOKEN_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invalid link</title></head>' +
  '<body><h1>This link is not valid</h1><p>The ad link is damaged or was changed. Nothing was recorded.</p></body></html>\n';

export interface ClickRouteDeps {
  pipeline: ClickPipeline;
  decisions: DecisionLog;
  metrics: ClickFilterMetrics;
  log: Logger;
  logMode: 'await' | 'async';
  kafkaWaitMs: number;
  /** At most this many bad-token log lines per second (the rest are only counted). */
  badTokenLogsPerSecond?: number;
}

const Params = Type.Object({ token: Type.String({ maxLength: MAX_TOKEN_CHARS + 16 }) });

export function clickRoutes(app: FastifyInstance, deps: ClickRouteDeps): void {
  const { pipeline, decisions, metrics, log } = deps;
  const logBudget = deps.badTokenLogsPerSecond ?? 20;
  let logSecond = 0;
  let logsThisSecond = 0;
  let suppressed = 0;

  const badToken = (req: FastifyRequest, reply: FastifyReply, reason: string, started: bigint) => {
    metrics.badTokens.inc({ reason });
    metrics.requests.inc({ outcome: 'bad-token' });
    const sec = Math.floor(Date.now() / 1000);
    if (sec !== logSecond) {
      if (suppressed > 0) log.warn({ suppressed }, 'bad click tokens not logged in the last second');
      logSecond = sec;
      logsThisSecond = 0;
      suppressed = 0;
    }
    if (logsThisSecond++ < logBudget) {
      const token = (req.params as { token: string }).token;
      log.warn(
        {
          reason,
          ip: req.ip,
          ua: req.headers['user-agent'],
          token: token.slice(0, 24),
          tokenLength: token.length,
        },
        'bad click token',
      );
    } else suppressed++;
    metrics.duration.observe({ outcome: 'bad-token' }, elapsed(started));
    return reply
      .code(400)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(BAD_TOKEN_PAGE);
  };

  app.route({
    method: 'GET',
    url: '/c/:token',
    schema: { params: Params },
    exposeHeadRoute: false,
    // A malformed path parameter is a bad token like any other: same page, no Location.
    errorHandler: (err, req, reply) => {
      if ((err as { validation?: unknown }).validation)
        return badToken(req, reply, 'bad-format', process.hrtime.bigint());
      log.error({ err }, 'click route failed');
      return reply.code(500).header('content-type', 'text/plain; charset=utf-8').send('Internal error\n');
    },
    handler: async (req, reply) => {
      const started = process.hrtime.bigint();
      const { token } = req.params as { token: string };
      const ua = req.headers['user-agent'];
      const out = pipeline.handle(token, req.ip ?? '', typeof ua === 'string' ? ua : undefined);
      if (out.kind === 'bad-token') return badToken(req, reply, out.reason, started);
      const { decision, settlement } = out;
      metrics.decisions.inc({ reason: decision.reason });
      if (settlement) metrics.billedMicros.inc(settlement.priceMicros);
      const written = decisions.write(decision, settlement);
      if (deps.logMode === 'await') {
        const durable = await withDeadline(written, deps.kafkaWaitMs);
        if (durable !== true) metrics.redirectBeforeDurable.inc();
      }
      metrics.requests.inc({ outcome: 'redirect' });
      metrics.duration.observe(
        { outcome: decision.billable ? 'billable' : 'not-billable' },
        elapsed(started),
      );
      return reply
        .code(302)
        .header('location', out.landingUrl)
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .send();
    },
  });

  app.route({
    method: 'HEAD',
    url: '/c/:token',
    schema: { params: Params },
    errorHandler: (_err, _req, reply) => reply.code(400).send(),
    handler: async (req, reply) => {
      metrics.requests.inc({ outcome: 'head' });
      const landing = pipeline.verifyOnly((req.params as { token: string }).token);
      if (landing === undefined) return reply.code(400).header('cache-control', 'no-store').send();
      return reply.code(302).header('location', landing).header('cache-control', 'no-store').send();
    },
  });
}

function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The promise's value, or 'timeout' after ms. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
