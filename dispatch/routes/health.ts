// /healthz (alive), /readyz (this instance is the leader and connected: the one a load balancer
// should send changes to) and /metrics (Prometheus text of this app's own registry).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../core/errors.js';
import type { DispatchMetrics } from '../metrics.js';
import type { ChangeWriter, Leadership } from '../writer.js';
import { ErrorBody } from './changes.js';

export interface HealthRouteOptions {
  writer: Pick<ChangeWriter, 'pending'>;
  leadership: Leadership;
  metrics: DispatchMetrics;
  notReady: () => string[];
}

const Alive = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({
  status: Type.Literal('ready'),
  leader: Type.Boolean(),
  leaderUrl: Type.Union([Type.String(), Type.Null()]),
  pending: Type.Integer(),
});

export function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): void {
  const { writer, leadership, metrics, notReady } = opts;

  app.get('/healthz', { schema: { response: { 200: Alive } } }, (_request, reply) => {
    return reply.send({ status: 'ok' });
  });

  app.get('/readyz', { schema: { response: { 200: Ready, 503: ErrorBody } } }, (_request, reply) => {
    const state = leadership.state();
    const why = notReady();
    if (!state.leader) {
      why.push(
        state.leaderUrl === undefined
          ? 'not the leader (no leader elected yet)'
          : `not the leader (${state.leaderUrl} is)`,
      );
    }
    if (why.length > 0) {
      reply.header('retry-after', '1');
      if (state.leaderUrl !== undefined) reply.header('x-imatch-leader', state.leaderUrl);
      throw new ImatchError('IM_ERR_NOT_READY', `Not ready: ${why.join(', ')}`, {
        details: { leaderUrl: state.leaderUrl ?? null },
      });
    }
    return reply.send({
      status: 'ready',
      leader: state.leader,
      leaderUrl: state.leaderUrl ?? null,
      pending: writer.pending,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    metrics.pending.set(writer.pending);
    metrics.leader.set(leadership.state().leader ? 1 : 0);
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
