// GET /debug/dump: the whole content of the column index the replica serves right now
// (ColumnIndex.dump(): customers, offers with their bidwords, pending bidwords, all sorted), with
// the version, its watermark and the applied id. For equality tests against a reference and for
// audits; off unless the searcher runs with --debug-endpoints. Synchronous: the dump is one
// consistent state (no change is applied while it is taken).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../../core/errors.js';
import type { ColumnIndex } from '../index/column-index.js';

export interface DumpRouteOptions {
  current: () => ColumnIndex | undefined;
}

const DumpAnswer = Type.Object({
  version: Type.String(),
  column: Type.Integer(),
  columns: Type.Integer(),
  watermark: Type.Integer(),
  appliedId: Type.Integer(),
  dump: Type.Unknown(),
});

export function dumpRoutes(app: FastifyInstance, opts: DumpRouteOptions): void {
  app.get('/debug/dump', { schema: { response: { 200: DumpAnswer } } }, (_request, reply) => {
    const index = opts.current();
    if (index === undefined)
      throw new ImatchError('IM_ERR_NOT_READY', 'Not ready: no index version is loaded');
    return reply.send({
      version: index.version,
      column: index.column,
      columns: index.columns,
      watermark: index.watermark,
      appliedId: index.appliedId,
      dump: index.dump(),
    });
  });
}
