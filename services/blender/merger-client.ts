// The blender's side of `/merge` (core/merge-contract.ts): per known merger, one frame RPC
// connection (core/frame-rpc.ts; `frames://host:port`, what discovery uses when the merger
// advertises one) or one undici Pool (keep-alive, pooled `request`, never fetch; `http://...`),
// the merger with the fewest outstanding requests chosen for each call (round-robin among
// equals), a per-call deadline, and upstream failures mapped to the error table: merger
// unreachable -> IM_ERR_UPSTREAM_DOWN (502), deadline -> IM_ERR_UPSTREAM_TIMEOUT (504), merger
// not ready -> IM_ERR_NOT_READY (503). A call whose connection failed (nothing was processed) is
// retried once on another merger when there is one and the deadline allows.
//
// Merger URLs are static (--merger-url) or replaced at run time from ZooKeeper discovery
// (setEndpoints); a removed merger's pool is closed after its in-flight requests finish.
// Concurrency: one event loop; `endpoints` is replaced as a whole array, so a call sees one list.
import { Pool } from 'undici';
import { ImatchError } from '../../core/errors.js';
import { FrameClient, FrameError } from '../../core/frame-rpc.js';
import type { Logger } from '../../core/logger.js';
import type { MergeRequest, MergeResponse } from '../../core/merge-contract.js';
import type { MergerRegistration } from '../../core/registrations.js';

export interface MergerClient {
  /** Asks one merger; rejects with an ImatchError (UPSTREAM_DOWN / UPSTREAM_TIMEOUT / NOT_READY / INTERNAL). */
  merge(request: MergeRequest): Promise<MergeResponse>;
  /** How many mergers are known right now (readiness). */
  readonly size: number;
  close(): Promise<void>;
}

export interface MergerPoolOptions {
  /** Deadline of one call, retries included (ms). */
  timeoutMs: number;
  /** Keep-alive connections per merger. */
  connections: number;
  log: Logger;
  /** Idle keep-alive time of a connection (ms, default 30,000; small in tests). */
  keepAliveTimeoutMs?: number;
}

interface Endpoint {
  /** `http(s)://...` (HTTP POST /merge) or `frames://host:port` (frame RPC). */
  readonly url: string;
  readonly pool?: Pool;
  readonly frames?: FrameClient;
  outstanding: number;
}

const FRAMES_URL = /^frames:\/\/([^\s:/]+):(\d{1,5})$/;

/** The endpoint a merger registration is called at: its frame address when it has one and `useFrames`. */
export function mergerEndpoint(registration: MergerRegistration, useFrames: boolean): string {
  const { frames } = registration;
  if (useFrames && typeof frames === 'string' && FRAMES_URL.test(`frames://${frames}`))
    return `frames://${frames}`;
  return registration.url;
}

const DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export class MergerPoolClient implements MergerClient {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private closed = false;

  constructor(
    private readonly opts: MergerPoolOptions,
    urls: readonly string[] = [],
  ) {
    this.setEndpoints(urls);
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** The merger URLs in use. */
  get urls(): string[] {
    return this.endpoints.map((e) => e.url);
  }

  /** Replaces the set of mergers (ZooKeeper discovery); keeps the pools of those still present. */
  setEndpoints(urls: readonly string[]): void {
    if (this.closed) return;
    const wanted = [...new Set(urls.map((u) => u.replace(/\/+$/, '')))];
    const byUrl = new Map(this.endpoints.map((e) => [e.url, e]));
    const nextList: Endpoint[] = [];
    for (const url of wanted) {
      nextList.push(byUrl.get(url) ?? this.endpoint(url));
      byUrl.delete(url);
    }
    this.endpoints = nextList;
    for (const gone of byUrl.values()) {
      closeEndpoint(gone).catch((err: unknown) =>
        this.opts.log.warn({ err, url: gone.url }, 'closing merger pool'),
      );
    }
  }

  private endpoint(url: string): Endpoint {
    const frames = FRAMES_URL.exec(url);
    if (frames !== null)
      return {
        url,
        outstanding: 0,
        frames: new FrameClient(frames[1]!, Number(frames[2]), { connectTimeoutMs: 1_000 }),
      };
    return {
      url,
      outstanding: 0,
      pool: new Pool(url, {
        connections: this.opts.connections,
        pipelining: 1,
        keepAliveTimeout: this.opts.keepAliveTimeoutMs ?? 30_000,
        keepAliveMaxTimeout: Math.max(this.opts.keepAliveTimeoutMs ?? 30_000, 1000),
      }),
    };
  }

  async merge(request: MergeRequest): Promise<MergeResponse> {
    const started = Date.now();
    const body = JSON.stringify(request);
    const first = this.pick(undefined);
    if (first === undefined) throw new ImatchError('IM_ERR_UPSTREAM_DOWN', 'No merger is available');
    try {
      return await this.call(first, body, this.opts.timeoutMs);
    } catch (err) {
      const left = this.opts.timeoutMs - (Date.now() - started);
      const second = isConnectFailure(err) && left > 0 ? this.pick(first) : undefined;
      if (second === undefined) throw toUpstreamError(err, first.url, this.opts.log);
      try {
        return await this.call(second, body, left);
      } catch (err2) {
        throw toUpstreamError(err2, second.url, this.opts.log);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const list = this.endpoints;
    this.endpoints = [];
    await Promise.allSettled(list.map(closeEndpoint));
  }

  private pick(except: Endpoint | undefined): Endpoint | undefined {
    const list = this.endpoints;
    const n = list.length;
    let best: Endpoint | undefined;
    const start = this.next++ % Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const e = list[(start + i) % n]!;
      if (e === except) continue;
      if (best === undefined || e.outstanding < best.outstanding) best = e;
    }
    return best;
  }

  private async call(endpoint: Endpoint, body: string, timeoutMs: number): Promise<MergeResponse> {
    if (endpoint.frames !== undefined) return callFrames(endpoint, endpoint.frames, body, timeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineError(timeoutMs)), timeoutMs);
    endpoint.outstanding++;
    try {
      const res = await endpoint.pool!.request({
        path: '/merge',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: controller.signal,
      });
      if (res.statusCode === 200) return (await res.body.json()) as MergeResponse;
      const text = await res.body.text();
      throw new MergerStatusError(res.statusCode, text, res.headers['retry-after']);
    } finally {
      clearTimeout(timer);
      endpoint.outstanding--;
    }
  }
}

/**
 * The same call over frame RPC: the deadline is the call's abandon time (no timer of its own), a
 * non-200 reply is a MergerStatusError like an HTTP one (a 503 carries Retry-After 1 there).
 */
async function callFrames(
  endpoint: Endpoint,
  client: FrameClient,
  body: string,
  timeoutMs: number,
): Promise<MergeResponse> {
  endpoint.outstanding++;
  try {
    const reply = await client.call(body, timeoutMs);
    if (reply.status === 200) return JSON.parse(reply.body) as MergeResponse;
    throw new MergerStatusError(reply.status, reply.body, reply.status === 503 ? '1' : undefined);
  } catch (err) {
    if (err instanceof FrameError && err.kind === 'timeout') throw new DeadlineError(timeoutMs);
    throw err;
  } finally {
    endpoint.outstanding--;
  }
}

function closeEndpoint(e: Endpoint): Promise<void> {
  return e.frames !== undefined ? e.frames.close() : e.pool!.close();
}

class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`merger did not answer within ${timeoutMs} ms`);
  }
}

/** A non-200 answer of a merger. */
export class MergerStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    readonly retryAfter: string | string[] | undefined,
  ) {
    super(`merger answered ${statusCode}`);
  }
}

function codeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isConnectFailure(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

function isDeadline(err: unknown): boolean {
  if (err instanceof DeadlineError) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof DeadlineError;
}

/** Maps a failed merger call to the error the blender answers with. */
export function toUpstreamError(err: unknown, url: string, log: Logger): ImatchError {
  if (err instanceof ImatchError) return err;
  if (err instanceof MergerStatusError) {
    switch (err.statusCode) {
      case 502:
        return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'No searcher column answered the merger', {
          cause: err,
        });
      case 503:
        if (err.body.includes('"IM_ERR_OVERLOADED"'))
          return new ImatchError('IM_ERR_OVERLOADED', 'The merger is overloaded; retry shortly', {
            cause: err,
          });
        return new ImatchError('IM_ERR_NOT_READY', 'The merger is not ready yet', { cause: err });
      case 504:
        return new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'The searchers did not answer in time', {
          cause: err,
        });
      default:
        log.error(
          { url, statusCode: err.statusCode, body: err.body.slice(0, 500) },
          'merger refused a request',
        );
        return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger could not answer', { cause: err });
    }
  }
  if (err instanceof FrameError && err.kind !== 'timeout')
    return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger is unreachable', { cause: err });
  if (isDeadline(err))
    return new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'The merger did not answer in time', { cause: err });
  const code = codeOf(err);
  if (code !== undefined && TIMEOUT_CODES.has(code))
    return new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'The merger did not answer in time', { cause: err });
  if (code !== undefined && DOWN_CODES.has(code))
    return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger is unreachable', { cause: err });
  if (err instanceof SyntaxError) {
    log.error({ url, err }, 'merger answered with a body that is not JSON');
    return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger answered with an unreadable body', {
      cause: err,
    });
  }
  log.error({ url, err }, 'merger call failed');
  return new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger could not be reached', { cause: err });
}
