// /healthz (the process is alive), /readyz (an index is served and the replica is registered in
// ZooKeeper, so mergers may send it queries) and /metrics (Prometheus text of this app's own
// registry). Cheap, synchronous reads of the holder and the registration state.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../../core/errors.js';
import type { ColumnIndex } from '../index/column-index.js';
import type { IndexHolder } from '../index-holder.js';
import type { SearcherMetrics } from '../metrics.js';
import { ErrorBody } from './search.js';

export interface HealthRouteOptions {
  holder: IndexHolder<ColumnIndex>;
  metrics: SearcherMetrics;
  /** Whether the ZooKeeper registration is in place right now. */
  isRegistered: () => boolean;
}

const Alive = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({
  status: Type.Literal('ready'),
  version: Type.String(),
  appliedId: Type.Integer(),
  registered: Type.Boolean(),
  swapping: Type.Boolean(),
});

export function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): void {
  const { holder, metrics, isRegistered } = opts;

  app.get('/healthz', { schema: { response: { 200: Alive } } }, (_request, reply) => {
    return reply.send({ status: 'ok' });
  });

  app.get('/readyz', { schema: { response: { 200: Ready, 503: ErrorBody } } }, (_request, reply) => {
    const serving = holder.current;
    const registered = isRegistered();
    if (serving === undefined || !registered) {
      const why = [
        serving === undefined ? 'no index version is loaded' : undefined,
        registered ? undefined : 'not registered in ZooKeeper',
      ].filter((s) => s !== undefined);
      reply.header('retry-after', '1');
      throw new ImatchError('IM_ERR_NOT_READY', `Not ready: ${why.join(', ')}`);
    }
    return reply.send({
      status: 'ready',
      version: serving.version,
      appliedId: serving.index.appliedId,
      registered,
      swapping: holder.busy,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
