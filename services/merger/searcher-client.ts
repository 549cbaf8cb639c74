// The merger's HTTP client of one searcher replica: an undici Pool (keep-alive, a few
// connections) and `POST /search` with a per-attempt timeout. Errors come back classified as
// ImatchError: IM_ERR_UPSTREAM_TIMEOUT when the attempt ran out of time, IM_ERR_UPSTREAM_DOWN for
// anything else (refused, reset, non-200, an answer for the wrong column).
//
// Concurrency: the Pool queues requests beyond its connections; callers may call search()
// concurrently. The request body is a string serialized once per query by the caller.
import { Pool } from 'undici';
import { ImatchError } from '../../core/errors.js';
import type { SearchHit, SearchResponse } from '../../core/search-contract.js';
import type { SearcherRegistration } from '../../core/zk-paths.js';

export interface SearcherClient {
  /** POSTs `body` (a serialized SearchRequest) to /search; rejects after `timeoutMs`. */
  search(body: string, timeoutMs: number): Promise<SearchResponse>;
  close(): Promise<void>;
}

export interface PoolClientOptions {
  /** Connections per replica. */
  connections: number;
  /** Idle keep-alive time of a connection (ms). */
  keepAliveTimeoutMs: number;
}

const HEADERS = { 'content-type': 'application/json' };

class AttemptTimeout extends Error {}

export class PoolSearcherClient implements SearcherClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    private readonly registration: SearcherRegistration,
    options: PoolClientOptions,
  ) {
    const url = new URL(registration.url);
    this.path = `${url.pathname.replace(/\/$/, '')}/search`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs, 1_000),
      connect: { timeout: 1_000 },
    });
  }

  async search(body: string, timeoutMs: number): Promise<SearchResponse> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new AttemptTimeout()), timeoutMs);
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: HEADERS,
        body,
        signal: ac.signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id()} answered ${res.statusCode}`);
      }
      const answer = (await res.body.json()) as SearchResponse;
      if (answer === null || typeof answer !== 'object' || !Array.isArray(answer.hits)) {
        throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id()} answered without hits`);
      }
      if (answer.column !== this.registration.column) {
        throw new ImatchError(
          'IM_ERR_UPSTREAM_DOWN',
          `searcher ${this.id()} answered for column ${answer.column}, registered as ${this.registration.column}`,
        );
      }
      return answer as SearchResponse & { hits: SearchHit[] };
    } catch (err) {
      if (ac.signal.aborted) {
        throw new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', `searcher ${this.id()} took over ${timeoutMs} ms`);
      }
      if (err instanceof ImatchError) throw err;
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id()}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private id(): string {
    return `col-${this.registration.column}/${this.registration.replica}`;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
