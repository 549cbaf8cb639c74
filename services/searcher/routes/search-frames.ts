// /search over frame RPC (core/frame-rpc.ts): the mergers' hop, the same request schema, answer
// and errors as POST /search (routes/search.ts answerSearch), without HTTP's parsing and routing.

import { frameRoute } from '../../../core/frame-route.js';
import type { FrameHandler } from '../../../core/frame-rpc.js';
import type { Logger } from '../../../core/logger.js';
import { SearchRequest } from '../../../core/search-contract.js';
import type { ColumnIndex } from '../index/column-index.js';
import type { IndexHolder } from '../index-holder.js';
import type { SearcherMetrics } from '../metrics.js';
import { answerSearch } from './search.js';

export interface SearchFrameOptions {
  holder: IndexHolder<ColumnIndex>;
  metrics: SearcherMetrics;
  log: Logger;
  column: number;
  replica: string;
}

export function searchFrameHandler(o: SearchFrameOptions): FrameHandler {
  const replicaJson = JSON.stringify(o.replica);
  return frameRoute<SearchRequest>({
    path: '/search',
    schema: SearchRequest,
    metrics: o.metrics,
    log: o.log,
    handle: (request) => ({
      status: 200,
      body: answerSearch(o.holder, o.column, replicaJson, request).body,
    }),
  });
}
