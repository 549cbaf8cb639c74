// POST /search: the merger -> searcher hop (core/search-contract.ts). The hot path: body
// validated by fastify's compiled Ajv, one read of the holder's current reference, one synchronous
// ColumnIndex.search, response written by the compiled fast-json-stringify serializer. The handler
// never awaits, so a query always runs entirely on the version it read (see index-holder.ts).
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../../core/error-body.js';
import { ImatchError } from '../../../core/errors.js';
import { SearchRequest, SearchResponse } from '../../../core/search-contract.js';
import type { ColumnIndex } from '../index/column-index.js';
import type { IndexHolder } from '../index-holder.js';

export interface SearchRouteOptions {
  holder: IndexHolder<ColumnIndex>;
  column: number;
  replica: string;
}

export function searchRoutes(app: FastifyInstance, opts: SearchRouteOptions): void {
  const { holder, column, replica } = opts;
  app.post<{ Body: SearchRequest; Reply: SearchResponse }>(
    '/search',
    {
      schema: {
        body: SearchRequest,
        response: { 200: SearchResponse, 400: ErrorBody, 503: ErrorBody },
      },
    },
    (request, reply) => {
      const serving = holder.current;
      if (serving === undefined) {
        reply.header('retry-after', '1');
        throw new ImatchError('IM_ERR_NOT_READY', 'No index version is loaded yet; retry shortly');
      }
      const started = performance.now();
      const hits = serving.index.search(request.body);
      const tookUs = Math.round((performance.now() - started) * 1000);
      reply.send({
        column,
        replica,
        version: serving.version,
        appliedId: serving.index.appliedId,
        hits,
        tookUs,
      });
    },
  );
}
