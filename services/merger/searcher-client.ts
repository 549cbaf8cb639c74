// The merger's clients of one searcher replica: FrameSearcherClient over frame RPC
// (core/frame-rpc.ts, the default when the replica advertises a frame address; at the end of this
// file) and PoolSearcherClient over HTTP: an undici Pool (keep-alive, a few connections) and
// `POST /search`. Both have two timeouts per attempt:
//   - the attempt timeout (soft): the caller stops waiting and may retry elsewhere, but the
//     request keeps its connection and its late answer is read and dropped, so a busy searcher
//     does not cost a torn-down keep-alive connection and a new handshake per slow answer;
//   - the abandon timeout (hard): a request still unanswered then is aborted (over HTTP its
//     connection is closed; over frames the shared connection is closed only when nothing at all
//     came back on it meanwhile), so a hung replica cannot hold connections forever.
// The answer is read in the form the searcher chose (content type): the lines form of
// core/hit-lines.ts, which the merger asks for, or a JSON SearchResponse.
// Errors come back classified as ImatchError: IM_ERR_UPSTREAM_TIMEOUT when the attempt ran out
// of time, IM_ERR_UPSTREAM_DOWN for anything else (refused, reset, non-200, wrong column).
//
// Concurrency: the Pool queues requests beyond its connections; callers may call search()
// concurrently. The request body is a string serialized once per query by the caller.
import { Pool } from 'undici';
import { ImatchError } from '../../core/errors.js';
import { FrameClient, FrameError } from '../../core/frame-rpc.js';
import { HIT_LINES_TYPE, HitLinesError, isLostAdList, parseHitLines } from '../../core/hit-lines.js';
import type { LostAd, SearchResponse } from '../../core/search-contract.js';
import type { SearcherRegistration } from '../../core/zk-paths.js';
import type { ColumnHit } from './merge.js';

/**
 * A column's answer as the merger uses it: the column and its ranked hits, read from either form
 * of the contract (a SearchResponse is one).
 */
export interface SearcherAnswer {
  column: number;
  hits: readonly ColumnHit[];
  /** The column's ads lost to budget (core/search-contract.ts LostAd), when it had any. */
  lostToBudget?: readonly LostAd[] | undefined;
}

export interface SearchCall {
  /** The answer, or a rejection once the attempt timeout passed or the request failed. */
  answer: Promise<SearcherAnswer>;
  /** Settles when the request is really over (answered, failed or abandoned); never rejects. */
  settled: Promise<void>;
}

export interface SearcherClient {
  /** POSTs `body` (a serialized SearchRequest) to /search; the answer rejects after `timeoutMs`. */
  search(body: string, timeoutMs: number): SearchCall;
  close(): Promise<void>;
}

export interface PoolClientOptions {
  /** Connections per replica. */
  connections: number;
  /** Idle keep-alive time of a connection (ms). */
  keepAliveTimeoutMs: number;
  /** A request unanswered this long is aborted and its connection closed (ms). */
  abandonAfterMs: number;
}

const HEADERS = { 'content-type': 'application/json' };
const noop = () => {};

export class PoolSearcherClient implements SearcherClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly id: string;

  constructor(
    private readonly registration: SearcherRegistration,
    private readonly options: PoolClientOptions,
  ) {
    const url = new URL(registration.url);
    this.path = `${url.pathname.replace(/\/$/, '')}/search`;
    this.id = `col-${registration.column}/${registration.replica}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs, 1_000),
      connect: { timeout: 1_000 },
    });
  }

  search(body: string, timeoutMs: number): SearchCall {
    // The abandon time rides on undici's own per-request timers (headers, then body inactivity):
    // no AbortController and no extra timer per attempt on the hot path.
    const abandonMs = Math.max(timeoutMs, this.options.abandonAfterMs);
    return withAttemptTimeout(this.request(body, abandonMs), timeoutMs, this.id);
  }

  private async request(body: string, abandonMs: number): Promise<SearcherAnswer> {
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: HEADERS,
        body,
        headersTimeout: abandonMs,
        bodyTimeout: abandonMs,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id} answered ${res.statusCode}`);
      }
      const type = res.headers['content-type'];
      const lines = typeof type === 'string' && type.startsWith(HIT_LINES_TYPE);
      return readAnswer(await res.body.text(), lines, this.registration.column, this.id);
    } catch (err) {
      if (err instanceof ImatchError) throw err;
      const code = (err as { code?: unknown }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', `searcher ${this.id} took over ${abandonMs} ms`, {
          cause: err,
        });
      }
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * The merger's frame RPC client of one searcher replica (core/frame-rpc.ts, the replica's
 * `frames` address): one multiplexed connection, the same two timeouts as the pool client (a
 * soft attempt timeout; calls unanswered after the abandon time are dropped, the connection
 * stays), the same answer checks and error classes. The searcher answers in the form asked for;
 * a frame has no content type, so the lines form is told by its newline (JSON text has none).
 */
export class FrameSearcherClient implements SearcherClient {
  private readonly client: FrameClient;
  private readonly id: string;

  constructor(
    private readonly registration: SearcherRegistration & { frames: string },
    private readonly options: Pick<PoolClientOptions, 'abandonAfterMs'>,
  ) {
    const colon = registration.frames.lastIndexOf(':');
    this.client = new FrameClient(
      registration.frames.slice(0, colon),
      Number(registration.frames.slice(colon + 1)),
      { connectTimeoutMs: 1_000 },
    );
    this.id = `col-${registration.column}/${registration.replica}`;
  }

  search(body: string, timeoutMs: number): SearchCall {
    const abandonMs = Math.max(timeoutMs, this.options.abandonAfterMs);
    const full = this.client.call(body, abandonMs).then(
      (reply) => {
        if (reply.status !== 200)
          throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id} answered ${reply.status}`);
        return readAnswer(reply.body, reply.body.indexOf('\n') >= 0, this.registration.column, this.id);
      },
      (err: unknown) => {
        if (err instanceof FrameError && err.kind === 'timeout')
          throw new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', `searcher ${this.id} took over ${abandonMs} ms`, {
            cause: err,
          });
        throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${this.id}: ${(err as Error).message}`, {
          cause: err,
        });
      },
    );
    return withAttemptTimeout(full, timeoutMs, this.id);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** The client a registration calls for: frames when it has a frame address and `useFrames`. */
export function searcherClientFor(
  registration: SearcherRegistration,
  options: PoolClientOptions & { useFrames: boolean },
): SearcherClient {
  const { frames } = registration;
  if (options.useFrames && typeof frames === 'string' && /^[^\s:]+:\d{1,5}$/.test(frames))
    return new FrameSearcherClient({ ...registration, frames }, options);
  return new PoolSearcherClient(registration, options);
}

/**
 * The attempt's answer, rejected with IM_ERR_UPSTREAM_TIMEOUT once `timeoutMs` passes (the
 * request itself goes on until `full` settles).
 */
function withAttemptTimeout(full: Promise<SearcherAnswer>, timeoutMs: number, id: string): SearchCall {
  const settled = full.then(noop, noop);
  const answer = new Promise<SearcherAnswer>((resolve, reject) => {
    const soft = setTimeout(
      () => reject(new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', `searcher ${id} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
    full.then(
      (a) => {
        clearTimeout(soft);
        resolve(a);
      },
      (err: unknown) => {
        clearTimeout(soft);
        reject(err);
      },
    );
  });
  return { answer, settled };
}

/** Reads a 200 answer in either form; throws IM_ERR_UPSTREAM_DOWN when it is malformed or for another column. */
function readAnswer(text: string, lines: boolean, column: number, id: string): SearcherAnswer {
  let answer: SearcherAnswer;
  if (lines) {
    let parsed: ReturnType<typeof parseHitLines>;
    try {
      parsed = parseHitLines(text);
    } catch (err) {
      if (!(err instanceof HitLinesError)) throw err;
      throw new ImatchError(
        'IM_ERR_UPSTREAM_DOWN',
        `searcher ${id} answered a malformed body: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    answer = {
      column: parsed.envelope.column,
      hits: parsed.hits,
      lostToBudget: parsed.envelope.lostToBudget,
    };
  } else {
    let json: SearchResponse;
    try {
      json = JSON.parse(text) as SearchResponse;
    } catch (err) {
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${id} answered a body that is not JSON`, {
        cause: err,
      });
    }
    if (json === null || typeof json !== 'object' || !Array.isArray(json.hits)) {
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${id} answered without hits`);
    }
    if (json.lostToBudget !== undefined && !isLostAdList(json.lostToBudget))
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `searcher ${id} answered a malformed lostToBudget`);
    answer = json;
  }
  if (answer.column !== column) {
    throw new ImatchError(
      'IM_ERR_UPSTREAM_DOWN',
      `searcher ${id} answered for column ${answer.column}, registered as ${column}`,
    );
  }
  return answer;
}
