// Test-only helpers for the merger's unit tests: hit factories and a stub SearcherClient that
// answers from a fixed ranked list (honouring k), fails, or hangs until its timeout. Not used by
// production code; lives here so every *.test.ts of the merger builds hits the same way.
import { ImatchError } from '../../core/errors.js';
import { hitLine, parseHitLines } from '../../core/hit-lines.js';
import { compareRanked } from '../../core/ranking.js';
import type { SearchHit, SearchRequest, SearchResponse } from '../../core/search-contract.js';
import type { SearcherRegistration } from '../../core/zk-paths.js';
import { hitJson } from './field-format.js';
import type { SearchCall, SearcherAnswer, SearcherClient } from './searcher-client.js';

export function hit(offerId: string, customerId: string, score: number, qualityBp = 5000): SearchHit {
  return {
    offerId,
    customerId,
    bidwordId: `b-${offerId}`,
    keyword: 'red shoes',
    matchType: 'broad',
    bidMicros: 1_000_000,
    qualityBp,
    score,
    title: `title ${offerId}`,
    category: 'apparel/shoes',
    imageUrl: `https://img.example/${offerId}.jpg`,
    landingUrl: `https://shop.example/${offerId}`,
  };
}

export function registration(column: number, replica: string): SearcherRegistration {
  return {
    url: `http://127.0.0.1:1/${column}/${replica}`,
    column,
    replica,
    version: 'v1',
    appliedId: 0,
    startedAt: '2024-01-01T00:00:00.000Z',
  };
}

export type StubMode = 'ok' | 'error' | 'hang' | 'late' | 'slow';

/** A searcher replica in memory: `hits` is the column's whole ranking; answers the top k. */
export class StubClient implements SearcherClient {
  mode: StubMode = 'ok';
  readonly requests: SearchRequest[] = [];
  closed = false;
  constructor(
    readonly column: number,
    public hits: SearchHit[] = [],
  ) {}

  /** Requests started and not yet over (a hung one stays until its abandon time). */
  inFlight = 0;

  /** 'late' mode: the answer arrives after this long, whatever the caller's timeout. */
  lateMs = 100;

  /** 'slow' mode: answers after this long when the caller waits that long, else times out. */
  slowMs = 100;

  /** Answer in the lines form (core/hit-lines.ts), as real searchers do, instead of SearchHit objects. */
  linesForm = false;

  search(body: string, timeoutMs: number): SearchCall {
    this.inFlight++;
    if (this.mode === 'late') {
      // Like the real client: the caller stops waiting at timeoutMs, the request goes on.
      const wire = new Promise<void>((r) => setTimeout(r, this.lateMs));
      const settled = wire.then(() => {
        this.inFlight--;
      });
      const answer = new Promise<SearchResponse>((_, reject) =>
        setTimeout(() => reject(new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'stub late')), timeoutMs),
      );
      this.requests.push(JSON.parse(body) as SearchRequest);
      return { answer, settled };
    }
    const answer = this.answer(body, timeoutMs);
    const settled = answer.then(
      () => {
        this.inFlight--;
      },
      () => {
        this.inFlight--;
      },
    );
    return { answer, settled };
  }

  private async answer(body: string, timeoutMs: number): Promise<SearcherAnswer> {
    const req = JSON.parse(body) as SearchRequest;
    this.requests.push(req);
    if (this.mode === 'error') throw new ImatchError('IM_ERR_UPSTREAM_DOWN', 'stub down');
    if (this.mode === 'hang' || (this.mode === 'slow' && this.slowMs > timeoutMs)) {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'stub hung');
    }
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
    const hits = [...this.hits].sort(compareRanked).slice(0, req.k);
    if (this.linesForm) {
      const text = hits.map((h) => hitLine(h, hitJson(h, req.fields))).join('');
      return { column: this.column, hits: parseHitLines(`{"column":${this.column}}\n${text}`).hits };
    }
    const answer: SearchResponse = {
      column: this.column,
      replica: 'stub',
      version: 'v1',
      appliedId: 0,
      hits,
      tookUs: 1,
    };
    return answer;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A client factory that keeps every client it made, by "column/replica". */
export function stubFactory(hitsByColumn: SearchHit[][] = []) {
  const clients = new Map<string, StubClient>();
  const factory = (reg: SearcherRegistration): SearcherClient => {
    const client = new StubClient(reg.column, hitsByColumn[reg.column] ?? []);
    clients.set(`${reg.column}/${reg.replica}`, client);
    return client;
  };
  return { factory, clients };
}
