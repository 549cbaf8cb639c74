// POST /search: the merger -> searcher hop (core/search-contract.ts). The hot path: body
// validated by fastify's compiled Ajv, one read of the holder's current reference, one synchronous
// ColumnIndex.searchJson (or searchLines when the merger asks for the lines form of
// core/hit-lines.ts), and the answer written as text: the hits come serialized from the index
// (fragments cached per offer), the envelope is five known fields, so no serializer walks an
// object per hit (the 200 schema stays for the OpenAPI document and the contract; a test checks
// that the text equals what the schema's serializer would write). The handler never awaits, so a
// query always runs entirely on the version it read (see index-holder.ts).
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../../core/error-body.js';
import { ImatchError } from '../../../core/errors.js';
import { HIT_LINES_TYPE } from '../../../core/hit-lines.js';
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
  const replicaJson = JSON.stringify(replica);
  app.post<{ Body: SearchRequest }>(
    '/search',
    {
      schema: {
        body: SearchRequest,
        response: { 200: SearchResponse, 400: ErrorBody, 503: ErrorBody },
      },
    },
    (request, reply) => {
      const answer = answerSearch(holder, column, replicaJson, request.body);
      reply.type(answer.type).send(answer.body.join(''));
    },
  );
}

/**
 * A search's answer as text, in parts to be written one after the other (frame RPC writes them
 * straight into its frame; HTTP joins them), and its content type.
 */
export interface SearchAnswer {
  type: string;
  body: readonly string[];
}

/**
 * Runs one search on the holder's current version: throws IM_ERR_NOT_READY (503) before the
 * first version is loaded. `replicaJson` is the replica id as a JSON string.
 */
export function answerSearch(
  holder: IndexHolder<ColumnIndex>,
  column: number,
  replicaJson: string,
  request: SearchRequest,
): SearchAnswer {
  const serving = holder.current;
  if (serving === undefined)
    throw new ImatchError('IM_ERR_NOT_READY', 'No index version is loaded yet; retry shortly');
  const started = performance.now();
  const envelope = `{"column":${column},"replica":${replicaJson},"version":${JSON.stringify(serving.version)},"appliedId":${serving.index.appliedId}`;
  if (request.format === 'lines') {
    const { lines, lostJson } = serving.index.searchLines(request);
    const lost = lostJson === '' ? '' : `,"lostToBudget":${lostJson}`;
    const tookUs = Math.round((performance.now() - started) * 1000);
    return { type: HIT_LINES_TYPE, body: [`${envelope}${lost},"tookUs":${tookUs}}\n`, lines] };
  }
  const { json, lostJson } = serving.index.searchJson(request);
  const lost = lostJson === '' ? '' : `,"lostToBudget":${lostJson}`;
  const tookUs = Math.round((performance.now() - started) * 1000);
  return {
    type: 'application/json; charset=utf-8',
    body: [`${envelope},"hits":`, json, `${lost},"tookUs":${tookUs}}`],
  };
}
