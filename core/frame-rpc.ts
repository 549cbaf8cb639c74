// Frame RPC: the transport of the internal query-path hops (merger -> searcher, blender ->
// merger), beside their HTTP routes. On this 2-core machine a hop's cost is mostly plumbing: the
// HTTP parser and router on each side, and one write syscall per message, each of which wakes the
// other process (BENCHMARKS.md "Night of 2026-12-06/07": writev alone was a quarter to a third of
// the merger's and the blender's CPU). Here a hop is one long-lived TCP connection per peer
// carrying many requests at once (each tagged with an id, answered in any order), and every
// frame that becomes ready in one turn of the event loop leaves in one write: under load, one
// syscall and one wake-up carry many requests.
//
// A frame, both ways:
//   u32 BE   length of the body in bytes
//   u32 BE   request id (the caller's; a reply carries its request's id)
//   u16 BE   status: 0 in a request; an HTTP status code in a reply (200, 400, 503, ...)
//   body     UTF-8 text: the same JSON (or hit lines) the HTTP route carries
// A body over MAX_FRAME_BYTES, or a request frame with a non-zero status, is a protocol error:
// the connection is closed (its callers' calls fail; a caller reconnects on its next call).
//
// Server: startFrameServer(handler) answers each request with handler(body), which returns
// {status, body} or a promise of it; a handler that throws answers 500. close() stops accepting,
// waits for the answers in progress (up to a timeout), then closes the connections.
// Client: FrameClient(host, port).call(body, abandonMs) connects on first use and again after a
// connection is lost; a call that is not answered within abandonMs is rejected (its late answer
// is dropped) without closing the connection, which other calls share, unless nothing at all came
// back on it meanwhile (then the connection is presumed dead and closed). After a failed connection
// attempt, one call waits on the next attempt and the others made meanwhile fail at once, so an
// unreachable peer costs one call a connect timeout, not every call. Errors are FrameError with
// `kind`: 'timeout', 'closed' (connection lost or refused; `cause` holds the socket error), 'protocol'.
//
// Concurrency: one event loop; a connection's state (read buffer, pending writes, pending calls)
// is touched only from its own socket events and from call().
import { createServer, type Server, Socket } from 'node:net';

export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const HEADER = 10;

export interface FrameReply {
  status: number;
  /**
   * The body, or its parts in order. Parts are written into the frame one after another, so a
   * large answer (a searcher's hit lines) is not first copied into one concatenated string:
   * measuring that copy (V8 flattens a concatenation before encoding it) was 22% of what a
   * search allocates (BENCHMARKS.md, 2026-12-07), and every young-generation MB costs a searcher
   * scavenge time.
   */
  body: string | readonly string[];
}

export type FrameHandler = (body: string) => FrameReply | Promise<FrameReply>;

/** A reply as a client receives it: the body in one string. */
export interface ReceivedFrame {
  status: number;
  body: string;
}

export class FrameError extends Error {
  constructor(
    readonly kind: 'timeout' | 'closed' | 'protocol',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FrameError';
  }
}

/** One frame, header and body (or the body's parts, in order), ready to write. */
export function encodeFrame(id: number, status: number, body: string | readonly string[]): Buffer {
  if (typeof body === 'string') {
    const length = Buffer.byteLength(body);
    const frame = frameWithHeader(id, status, length);
    frame.write(body, HEADER, length, 'utf8');
    return frame;
  }
  let length = 0;
  for (const part of body) length += Buffer.byteLength(part);
  const frame = frameWithHeader(id, status, length);
  let at = HEADER;
  for (const part of body) at += frame.write(part, at, 'utf8');
  return frame;
}

/** A frame of `length` body bytes with its header written and its body still to fill. */
function frameWithHeader(id: number, status: number, length: number): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + length);
  frame.writeUInt32BE(length, 0);
  frame.writeUInt32BE(id, 4);
  frame.writeUInt16BE(status, 8);
  return frame;
}

/**
 * Reads frames out of a byte stream that arrives in arbitrary chunks: push() each chunk, get the
 * complete frames it finished (a frame may span chunks; a chunk may hold many frames).
 */
export class FrameReader {
  private rest: Buffer | undefined;

  /** Calls onFrame for each complete frame; throws FrameError('protocol') on an oversized one. */
  push(chunk: Buffer, onFrame: (id: number, status: number, body: string) => void): void {
    let buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let off = 0;
    while (buf.length - off >= HEADER) {
      const length = buf.readUInt32BE(off);
      if (length > MAX_FRAME_BYTES)
        throw new FrameError('protocol', `frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      if (buf.length - off - HEADER < length) break;
      const id = buf.readUInt32BE(off + 4);
      const status = buf.readUInt16BE(off + 8);
      const body = buf.toString('utf8', off + HEADER, off + HEADER + length);
      off += HEADER + length;
      onFrame(id, status, body);
    }
    if (off < buf.length) {
      // Keep only the unread tail (copied when small, so a large chunk is not held for it).
      buf = buf.subarray(off);
      this.rest = buf.length < 4096 ? Buffer.from(buf) : buf;
    }
  }
}

/**
 * Frames queued for one socket, written together once per turn of the event loop (setImmediate
 * runs after the turn's I/O callbacks and their promise continuations).
 */
class WriteQueue {
  private frames: Buffer[] = [];
  private scheduled = false;

  constructor(private readonly socket: Socket) {}

  push(frame: Buffer): void {
    this.frames.push(frame);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const frames = this.frames;
    this.frames = [];
    if (this.socket.destroyed || frames.length === 0) return;
    this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  };
}

export interface FrameServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Called for a connection closed on a protocol error or a socket error (for logging). */
  onConnectionError?: (err: Error) => void;
}

export interface FrameServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, what a registration advertises. */
  readonly address: string;
  /** Requests received and not yet answered. */
  inFlight(): number;
  /** Connections accepted since the start. */
  accepted(): number;
  /** Stops accepting, waits up to timeoutMs for answers in progress, then closes every connection. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startFrameServer(
  handler: FrameHandler,
  options: FrameServerOptions,
): Promise<FrameServer> {
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let accepted = 0;
  let drained: (() => void) | undefined;
  const done = () => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    accepted++;
    const reader = new FrameReader();
    const out = new WriteQueue(socket);
    const answer = (id: number, reply: FrameReply) => {
      done();
      out.push(encodeFrame(id, reply.status, reply.body));
    };
    const failed = (id: number, err: unknown) => {
      done();
      const message = err instanceof Error ? err.message : String(err);
      out.push(encodeFrame(id, 500, JSON.stringify({ code: 'IM_ERR_INTERNAL', message })));
    };
    const onFrame = (id: number, status: number, body: string) => {
      if (status !== 0) throw new FrameError('protocol', `request frame ${id} has status ${status}`);
      inFlight++;
      let reply: FrameReply | Promise<FrameReply>;
      try {
        reply = handler(body);
      } catch (err) {
        failed(id, err);
        return;
      }
      if (reply instanceof Promise)
        reply.then(
          (r) => answer(id, r),
          (err: unknown) => failed(id, err),
        );
      else answer(id, reply);
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, onFrame);
      } catch (err) {
        options.onConnectionError?.(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', (err) => options.onConnectionError?.(err));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    address: `${options.host}:${port}`,
    inFlight: () => inFlight,
    accepted: () => accepted,
    close(timeoutMs = 5_000) {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeoutMs);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          // Let the last answers' writes (queued for the next turn) go out.
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (const s of sockets) s.end();
        const ending = [...sockets].map(
          (s) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => s.destroy(), 1_000);
              s.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
            }),
        );
        await Promise.all([stopped, ...ending]);
      })();
      return closing;
    },
  };
}

interface PendingCall {
  resolve: (reply: ReceivedFrame) => void;
  reject: (err: FrameError) => void;
  sentAt: number;
  deadline: number;
}

export interface FrameClientOptions {
  /** A connection not established within this long fails its calls (ms); default 1000. */
  connectTimeoutMs?: number;
}

/** One peer's multiplexed connection. */
export class FrameClient {
  private socket: Socket | undefined;
  private out: WriteQueue | undefined;
  private connected = false;
  private waiting: Buffer[] = [];
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the current connection last received anything (performance.now()). */
  private lastData = 0;
  /** The last connection attempt failed (refused, timed out, or lost before it connected). */
  private connectFailed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: FrameClientOptions = {},
  ) {}

  /** Calls in flight (sent or waiting for the connection). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `body`; resolves with the peer's reply, rejects with FrameError. */
  call(body: string, abandonMs: number): Promise<ReceivedFrame> {
    if (this.closed) return Promise.reject(new FrameError('closed', 'client closed'));
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    const frame = encodeFrame(id, 0, body);
    const now = performance.now();
    const promise = new Promise<ReceivedFrame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sentAt: now, deadline: now + abandonMs });
    });
    if (this.sweepTimer === undefined) this.armSweep(abandonMs);
    if (this.connected) this.out!.push(frame);
    else if (this.socket !== undefined && this.connectFailed && this.waiting.length > 0) {
      // The peer was unreachable at the last attempt and a call is already waiting on this one
      // (the probe): fail at once rather than make every call wait out the connect timeout.
      const call = this.pending.get(id)!;
      this.pending.delete(id);
      call.reject(new FrameError('closed', `${this.host}:${this.port} unreachable (reconnecting)`));
    } else {
      this.waiting.push(frame);
      if (this.socket === undefined) this.connect();
    }
    return promise;
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.fail(new FrameError('closed', 'client closed'));
    if (socket !== undefined && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 1_000).unref();
      });
    }
  }

  private connect(): void {
    const socket = new Socket();
    this.socket = socket;
    this.connected = false;
    const reader = new FrameReader();
    const connectTimer = setTimeout(
      () => socket.destroy(new Error(`connect to ${this.host}:${this.port} timed out`)),
      this.options.connectTimeoutMs ?? 1_000,
    );
    socket.setNoDelay(true);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      if (this.socket !== socket) return;
      this.connected = true;
      this.connectFailed = false;
      this.lastData = Number.NEGATIVE_INFINITY; // nothing received on this connection yet
      this.out = new WriteQueue(socket);
      const waiting = this.waiting;
      this.waiting = [];
      for (const f of waiting) this.out.push(f);
    });
    const onFrame = (id: number, status: number, body: string) => {
      const call = this.pending.get(id);
      if (call === undefined) return; // abandoned: its late answer is dropped
      this.pending.delete(id);
      call.resolve({ status, body });
    };
    socket.on('data', (chunk: Buffer) => {
      this.lastData = performance.now();
      try {
        reader.push(chunk, onFrame);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      if (this.socket !== socket) return;
      if (!this.connected) this.connectFailed = true;
      this.socket = undefined;
      this.out = undefined;
      this.connected = false;
      this.fail(
        new FrameError(
          'closed',
          `connection to ${this.host}:${this.port} closed${lastError === undefined ? '' : `: ${lastError.message}`}`,
          { cause: lastError },
        ),
      );
    });
    socket.connect(this.port, this.host);
  }

  /** Rejects every pending call (the connection they were on is gone). */
  private fail(err: FrameError): void {
    this.waiting = [];
    const calls = [...this.pending.values()];
    this.pending.clear();
    if (this.sweepTimer !== undefined) {
      clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    for (const c of calls) c.reject(err);
  }

  private armSweep(ms: number): void {
    this.sweepTimer = setTimeout(this.sweep, Math.max(1, Math.ceil(ms)));
  }

  /**
   * Rejects the calls past their deadline; re-arms for the earliest remaining one. When one of
   * them got nothing back at all since it was sent (the connection silent for its whole abandon
   * time), the connection is presumed dead (a peer gone without a reset, a path that drops
   * packets, where TCP's own retransmission backs off for many seconds) and is closed: the next
   * call connects again. A peer that is slow but answering keeps its connection.
   */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    let silent = false;
    for (const [id, call] of this.pending) {
      if (call.deadline <= now) {
        this.pending.delete(id);
        if (call.sentAt >= this.lastData) silent = true;
        call.reject(new FrameError('timeout', `no answer from ${this.host}:${this.port} in time`));
      } else if (call.deadline < next) next = call.deadline;
    }
    if (silent && this.connected && this.socket !== undefined)
      this.socket.destroy(
        new Error(`nothing received from ${this.host}:${this.port}; connection presumed dead`),
      );
    if (next !== Number.POSITIVE_INFINITY && this.sweepTimer === undefined) this.armSweep(next - now);
  };
}
