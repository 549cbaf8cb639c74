// POST /merge: the blender -> merger hop (core/merge-contract.ts). Body validated by fastify's
// compiled Ajv before the handler runs; the answer written as text by field-format.ts (the hits'
// JSON as the searchers wrote it, no serializer walking objects; the 200 schema stays for the
// OpenAPI document and the contract, and a test checks the text against it). The handler awaits
// only the fan-out.
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../../core/error-body.js';
import { ImatchError, isImatchError } from '../../../core/errors.js';
import { MergeRequest, MergeResponse } from '../../../core/merge-contract.js';
import { mergeResponseJson } from '../field-format.js';
import type { MergeQuery } from '../merge-query.js';
import type { MergerMetrics } from '../metrics.js';

export interface MergeRouteOptions {
  query: MergeQuery;
  metrics: MergerMetrics;
  /**
   * Merges answered at once; one more is refused at once with 503 + Retry-After (a bounded queue
   * at this hop: past it, waiting only adds latency for everyone; the blender sheds first).
   */
  maxInFlight: number;
}

const OVERLOADED = new ImatchError(
  'IM_ERR_OVERLOADED',
  'Too many merges are in flight right now; retry after the time in Retry-After',
).toBody();

export function mergeRoutes(app: FastifyInstance, opts: MergeRouteOptions): void {
  const { query, metrics, maxInFlight } = opts;
  let inFlight = 0;
  app.post<{ Body: MergeRequest }>(
    '/merge',
    {
      schema: {
        body: MergeRequest,
        response: { 200: MergeResponse, 502: ErrorBody, 503: ErrorBody, 504: ErrorBody },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      if (inFlight >= maxInFlight) {
        metrics.request('shed', 0);
        reply.code(503).header('retry-after', '1');
        return OVERLOADED;
      }
      inFlight++;
      try {
        const answer = await query.merge(request.body);
        metrics.request(answer.degraded ? 'degraded' : 'ok', (performance.now() - started) / 1000);
        return reply
          .type('application/json; charset=utf-8')
          .send(mergeResponseJson(answer.hits, request.body.fields, answer));
      } catch (err) {
        const notReady = isImatchError(err) && err.code === 'IM_ERR_NOT_READY';
        metrics.request(notReady ? 'not_ready' : 'failed', (performance.now() - started) / 1000);
        throw err;
      } finally {
        inFlight--;
      }
    },
  );
}
