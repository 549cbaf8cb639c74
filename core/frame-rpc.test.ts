import { createServer, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  encodeFrame,
  FrameClient,
  FrameError,
  type FrameHandler,
  FrameReader,
  type FrameServer,
  MAX_FRAME_BYTES,
  startFrameServer,
} from './frame-rpc.js';

function read(reader: FrameReader, chunk: Buffer): [number, number, string][] {
  const out: [number, number, string][] = [];
  reader.push(chunk, (id, status, body) => out.push([id, status, body]));
  return out;
}

describe('frame reader', () => {
  it('reads frames split at every byte and several frames in one chunk, UTF-8 bodies intact', () => {
    const frames = [
      encodeFrame(1, 0, '{"q":"zapatos niño"}'),
      encodeFrame(7, 200, ''),
      encodeFrame(9, 503, 'ü€😀'),
    ];
    const all = Buffer.concat(frames);
    for (let cut = 0; cut <= all.length; cut++) {
      const reader = new FrameReader();
      const got = [...read(reader, all.subarray(0, cut)), ...read(reader, all.subarray(cut))];
      expect(got).toEqual([
        [1, 0, '{"q":"zapatos niño"}'],
        [7, 200, ''],
        [9, 503, 'ü€😀'],
      ]);
    }
    const reader = new FrameReader();
    const byByte = [...all].flatMap((b) => read(reader, Buffer.from([b])));
    expect(byByte.map((f) => f[0])).toEqual([1, 7, 9]);
  });

  it('writes a body given in parts as the frame of the joined body', () => {
    const parts = ['{"column":0,"q":"', 'zapatos niño ü€😀', '"}\n', '', 'x'.repeat(70_000)];
    expect(encodeFrame(3, 200, parts).equals(encodeFrame(3, 200, parts.join('')))).toBe(true);
    expect(encodeFrame(4, 200, []).equals(encodeFrame(4, 200, ''))).toBe(true);
    const got = read(new FrameReader(), encodeFrame(5, 201, parts));
    expect(got).toEqual([[5, 201, parts.join('')]]);
  });

  it('refuses a frame longer than the limit', () => {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => read(new FrameReader(), header)).toThrow(FrameError);
  });
});

/**
 * A bare frame server (not startFrameServer) that answers each request with `reply(id, body,
 * socket)`, so a test can hang up or stay silent; counts its connections.
 */
async function rawServer(reply: (id: number, body: string, socket: Socket) => void) {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => reader.push(chunk, (id, _s, body) => reply(id, body, socket)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('frame client and server over loopback', () => {
  const servers: FrameServer[] = [];
  const clients: FrameClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close(100)));
  });
  const serve = async (handler: FrameHandler, port = 0) => {
    const s = await startFrameServer(handler, { host: '127.0.0.1', port });
    servers.push(s);
    return s;
  };
  const client = (s: { port: number }) => {
    const c = new FrameClient('127.0.0.1', s.port, { connectTimeoutMs: 500 });
    clients.push(c);
    return c;
  };

  it('answers concurrent calls on one connection, in whatever order the server finishes them', async () => {
    const server = await serve(async (body) => {
      const n = Number(body);
      await new Promise((r) => setTimeout(r, 30 - n * 5));
      return { status: 200, body: `echo ${n}` };
    });
    const c = client(server);
    const replies = await Promise.all([0, 1, 2, 3, 4].map((n) => c.call(String(n), 5_000)));
    expect(replies).toEqual([0, 1, 2, 3, 4].map((n) => ({ status: 200, body: `echo ${n}` })));
  });

  it('delivers a reply given in parts as one body', async () => {
    const big = 'é'.repeat(100_000);
    const server = await serve((body) => ({ status: 200, body: [`{"echo":${body}}\n`, big, '\n'] }));
    const c = client(server);
    expect(await c.call('7', 5_000)).toEqual({ status: 200, body: `{"echo":7}\n${big}\n` });
  });

  it('sends the calls made in one turn of the event loop in one write', async () => {
    const server = await serve((body) => ({ status: 200, body }));
    const c = client(server);
    await c.call('warm-up', 5_000); // connected
    // Request frames (status 0) written by any socket from here on.
    const write = vi.spyOn(Socket.prototype, 'write');
    try {
      const calls = Array.from({ length: 50 }, (_, i) => c.call(`q${i}`, 5_000));
      const replies = await Promise.all(calls);
      expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 50 }, (_, i) => `q${i}`));
      const requestWrites = write.mock.calls.filter(
        ([chunk]) => Buffer.isBuffer(chunk) && chunk.readUInt16BE(8) === 0,
      );
      expect(requestWrites).toHaveLength(1);
      expect((requestWrites[0]![0] as Buffer).length).toBe(
        50 * 10 + replies.reduce((n, r) => n + r.body.length, 0),
      );
      // The server answers them in one write too.
      expect(write.mock.calls).toHaveLength(2);
    } finally {
      write.mockRestore();
    }
  });

  it('answers 500 when the handler throws or rejects, and goes on serving', async () => {
    const server = await serve((body) => {
      if (body === 'throw') throw new Error('boom');
      if (body === 'reject') return Promise.reject(new Error('late boom'));
      return { status: 200, body: 'ok' };
    });
    const c = client(server);
    const [a, b, ok] = await Promise.all([
      c.call('throw', 5_000),
      c.call('reject', 5_000),
      c.call('x', 5_000),
    ]);
    expect(a.status).toBe(500);
    expect(JSON.parse(a.body)).toMatchObject({ code: 'IM_ERR_INTERNAL' });
    expect(b.status).toBe(500);
    expect(ok).toEqual({ status: 200, body: 'ok' });
  });

  it('abandons an unanswered call at its deadline, keeps a connection that answers others, drops the late answer', async () => {
    let release: (() => void) | undefined;
    let connections = 0;
    const server = await serve((body) => {
      if (body !== 'slow') return { status: 200, body: `fast ${body}` };
      return new Promise((resolve) => {
        release = () => resolve({ status: 200, body: 'slow answer' });
      });
    });
    const c = client(server);
    const counting = vi.spyOn(Socket.prototype, 'connect');
    try {
      const slow = c.call('slow', 60);
      // Other calls are answered while the slow one waits: the connection is alive.
      for (let i = 0; i < 10; i++)
        expect(await c.call(String(i), 5_000)).toEqual({ status: 200, body: `fast ${i}` });
      await expect(slow).rejects.toMatchObject({ kind: 'timeout' });
      expect(c.inFlight).toBe(0);
      release?.();
      expect(await c.call('1', 5_000)).toEqual({ status: 200, body: 'fast 1' });
      connections = counting.mock.calls.length;
    } finally {
      counting.mockRestore();
    }
    expect(connections).toBe(1);
  });

  it('closes a connection on which nothing came back for a whole abandon time, and connects again', async () => {
    let silent = true;
    const raw = await rawServer((id, body, socket) => {
      if (!silent) socket.write(encodeFrame(id, 200, body));
    });
    try {
      const c = client(raw);
      const [first, second] = [c.call('a', 50), c.call('b', 5_000)];
      await expect(first).rejects.toMatchObject({ kind: 'timeout' });
      // The silent connection is closed: the call still waiting on it fails at once.
      await expect(second).rejects.toMatchObject({ kind: 'closed' });
      silent = false;
      expect((await c.call('c', 5_000)).body).toBe('c');
      expect(raw.sockets.size).toBe(2);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await raw.close();
    }
  });

  it('fails the calls in flight when the connection is lost, and reconnects on the next call', async () => {
    const raw = await rawServer((id, body, socket) => {
      if (body === 'hang-up') socket.destroy();
      else socket.write(encodeFrame(id, 200, body));
    });
    try {
      const c = client(raw);
      expect((await c.call('a', 5_000)).body).toBe('a');
      await expect(c.call('hang-up', 5_000)).rejects.toMatchObject({ kind: 'closed' });
      expect((await c.call('b', 5_000)).body).toBe('b');
      expect(raw.sockets.size).toBe(2);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await raw.close();
    }
  });

  it('after a failed connection attempt, lets one call wait on the next attempt and fails the others at once', async () => {
    const server = await serve((body) => ({ status: 200, body }));
    const c = new FrameClient('127.0.0.1', server.port, { connectTimeoutMs: 100 });
    clients.push(c);
    // A peer whose connection attempts hang (dropped SYNs): connect() never completes.
    const hang = vi.spyOn(Socket.prototype, 'connect').mockImplementation(function (this: Socket) {
      return this;
    });
    try {
      // Nothing failed yet: every call waits on the first attempt, and all fail at its timeout.
      const first = await Promise.allSettled([c.call('a', 5_000), c.call('b', 5_000)]);
      expect(first.map((r) => r.status === 'rejected' && (r.reason as FrameError).kind)).toEqual([
        'closed',
        'closed',
      ]);
      // The next attempt: the first call waits on it (the probe), the next ones fail at once.
      let probeSettled = false;
      const probe = c.call('c', 5_000);
      probe
        .catch(() => {})
        .finally(() => {
          probeSettled = true;
        });
      const others = await Promise.allSettled([c.call('d', 5_000), c.call('e', 5_000)]);
      expect(probeSettled).toBe(false); // they failed while the probe still waited on its attempt
      expect(others.map((r) => r.status === 'rejected' && (r.reason as FrameError).kind)).toEqual([
        'closed',
        'closed',
      ]);
      await expect(probe).rejects.toMatchObject({ kind: 'closed' });
    } finally {
      hang.mockRestore();
    }
    // Reachable again: the next call connects, and calls are answered as usual.
    expect((await c.call('f', 5_000)).body).toBe('f');
    expect((await Promise.all([c.call('g', 5_000), c.call('h', 5_000)])).map((r) => r.body)).toEqual([
      'g',
      'h',
    ]);
  });

  it('fails a call to a port nobody listens on as closed, with the refusal as its cause', async () => {
    const server = await serve(() => ({ status: 200, body: '' }));
    const { port } = server;
    await servers.splice(0)[0]!.close();
    const err = await client({ port })
      .call('x', 5_000)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FrameError);
    expect(err).toMatchObject({ kind: 'closed', cause: { code: 'ECONNREFUSED' } });
  });

  it('on close, answers the calls in progress before closing the connections', async () => {
    let release: (() => void) | undefined;
    const server = await serve(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ status: 200, body: 'finished' });
        }),
    );
    const c = client(server);
    const call = c.call('x', 5_000);
    while (server.inFlight() === 0) await new Promise((r) => setTimeout(r, 1));
    const closing = servers.splice(0)[0]!.close(5_000);
    setTimeout(() => release?.(), 20);
    expect(await call).toEqual({ status: 200, body: 'finished' });
    await closing;
    await expect(c.call('y', 5_000)).rejects.toMatchObject({ kind: 'closed' });
  });
});
