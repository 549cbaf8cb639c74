// /healthz (the process is alive), /readyz (discovery has read the index layout and at least one
// column has a replica, so blenders may send queries) and /metrics (Prometheus text of this app's
// own registry). Cheap synchronous reads.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../../core/errors.js';
import type { Balancer } from '../balancer.js';
import type { MergerMetrics } from '../metrics.js';
import { ErrorBody } from './merge.js';

export interface HealthRouteOptions {
  balancer: Balancer;
  metrics: MergerMetrics;
  /** Whether discovery has read /index/current and every column's replica list once. */
  isDiscovered: () => boolean;
}

const Alive = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({
  status: Type.Literal('ready'),
  columns: Type.Integer(),
  replicas: Type.Array(Type.Object({ healthy: Type.Integer(), known: Type.Integer() })),
});

export function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): void {
  const { balancer, metrics, isDiscovered } = opts;

  app.get('/healthz', { schema: { response: { 200: Alive } } }, (_request, reply) => {
    return reply.send({ status: 'ok' });
  });

  app.get('/readyz', { schema: { response: { 200: Ready, 503: ErrorBody } } }, (_request, reply) => {
    const columns = balancer.columnCount;
    const replicas = Array.from({ length: columns }, (_, c) => ({
      healthy: balancer.healthyCount(c),
      known: balancer.replicas(c).length,
    }));
    const why = !isDiscovered()
      ? 'the index layout and searcher replicas are not discovered yet'
      : columns === 0
        ? 'no index version is published'
        : replicas.every((r) => r.known === 0)
          ? 'no searcher replica is registered'
          : undefined;
    if (why !== undefined) {
      reply.header('retry-after', '1');
      throw new ImatchError('IM_ERR_NOT_READY', `Not ready: ${why}`);
    }
    return reply.send({ status: 'ready', columns, replicas });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
