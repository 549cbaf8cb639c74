// /healthz (the process is alive), /readyz (a merger is known, the run-time config is loaded, the
// blender is registered in ZooKeeper and its Kafka producer is connected) and /metrics
// (Prometheus text of this app's own registry). Cheap synchronous reads.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../../core/errors.js';
import type { BlenderMetrics } from '../metrics.js';
import { ErrorBody } from './schemas.js';

export interface HealthRouteOptions {
  metrics: BlenderMetrics;
  /** Why the blender is not ready (empty: ready). */
  notReady: () => string[];
}

const Alive = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({ status: Type.Literal('ready') });

export function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): void {
  const hide = { hide: true } as Record<string, unknown>;
  app.get('/healthz', { schema: { ...hide, response: { 200: Alive } } }, (_request, reply) => {
    return reply.send({ status: 'ok' });
  });

  app.get('/readyz', { schema: { ...hide, response: { 200: Ready, 503: ErrorBody } } }, (_request, reply) => {
    const why = opts.notReady();
    if (why.length > 0) {
      reply.header('retry-after', '1');
      throw new ImatchError('IM_ERR_NOT_READY', `Not ready: ${why.join(', ')}`);
    }
    return reply.send({ status: 'ready' });
  });

  app.get('/metrics', { schema: hide }, async (_request, reply) => {
    const text = await opts.metrics.registry.metrics();
    return reply.header('content-type', opts.metrics.registry.contentType).send(text);
  });
}
