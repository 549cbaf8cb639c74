// POST /v1/changes: the BP's entry point (DESIGN.md "Change message"). Order of checks, so
// nothing is reserved or written for a request that will be refused:
//   1. onRequest: the shared secret (401 before the body is even read);
//   2. the body schema: {"changes": [1..MAX_CHANGES_PER_BATCH items]} (400 from fastify);
//   3. every item against core/model.ts, all problems listed by index (400, nothing written);
//   4. the writer: ids assigned and made durable in Kafka, then {"ids": [...]} (200), or 503.
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../core/error-body.js';
import { ImatchError } from '../../core/errors.js';
import { ChangeBatch } from '../../core/model.js';
import type { SecretCheck } from '../auth.js';
import type { DispatchMetrics } from '../metrics.js';
import { checkBatch } from '../validate.js';
import type { ChangeWriter } from '../writer.js';

export const ChangesAnswer = Type.Object(
  {
    /** One message id per change, in the order of the request; strictly increasing. */
    ids: Type.Array(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export interface ChangesRouteOptions {
  writer: Pick<ChangeWriter, 'submit'>;
  checkSecret: SecretCheck;
  metrics: DispatchMetrics;
}

export function changesRoutes(app: FastifyInstance, opts: ChangesRouteOptions): void {
  const { writer, checkSecret, metrics } = opts;
  app.post<{ Body: Static<typeof ChangeBatch> }>(
    '/v1/changes',
    {
      schema: {
        headers: Type.Object({ authorization: Type.Optional(Type.String()) }),
        body: ChangeBatch,
        response: { 200: ChangesAnswer, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
      },
      onRequest: (request, _reply, done) => {
        try {
          checkSecret(request.headers.authorization);
          done();
        } catch (err) {
          metrics.changes.inc({ result: 'refused' });
          done(err as Error);
        }
      },
    },
    async (request, reply) => {
      const items = request.body.changes;
      const checked = checkBatch(items);
      if (!checked.ok) {
        metrics.changes.inc({ result: 'invalid' }, items.length);
        const shown = checked.problems
          .slice(0, 5)
          .map((p) => `#${p.index}: ${p.reason}`)
          .join(' | ');
        const more = checked.problems.length > 5 ? ` (and ${checked.problems.length - 5} more)` : '';
        throw new ImatchError(
          'IM_ERR_BAD_CHANGE',
          `${checked.problems.length} of ${items.length} changes are invalid; none was accepted. ${shown}${more}`,
          { details: { problems: checked.problems } },
        );
      }
      try {
        const ids = await writer.submit(checked.changes);
        metrics.changes.inc({ result: 'acknowledged' }, ids.length);
        metrics.lastId.set(ids[ids.length - 1]!);
        return reply.send({ ids });
      } catch (err) {
        metrics.changes.inc({ result: 'failed' }, items.length);
        if (err instanceof ImatchError && err.statusCode === 503) reply.header('retry-after', '1');
        if (err instanceof ImatchError && err.code === 'IM_ERR_NOT_LEADER') {
          const leaderUrl = (err.details as { leaderUrl?: string | null } | undefined)?.leaderUrl;
          if (typeof leaderUrl === 'string') reply.header('x-imatch-leader', leaderUrl);
        }
        throw err;
      }
    },
  );
}
