import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad } from './http-load.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A server that answers 200 and records, per request, its path and the connection it came on. */
async function start(): Promise<{ origin: string; seen: { path: string; socket: number }[] }> {
  const seen: { path: string; socket: number }[] = [];
  const sockets = new Map<object, number>();
  server = createServer((req, res) => {
    let id = sockets.get(req.socket);
    if (id === undefined) {
      id = sockets.size;
      sockets.set(req.socket, id);
    }
    seen.push({ path: req.url ?? '', socket: id });
    res.end('{}');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe('bench http-load', () => {
  it('reports each phase as it starts, and the end of the last, in order and on time', async () => {
    const { origin } = await start();
    const calls: { index: number; atMs: number }[] = [];
    const t0 = performance.now();
    const result = await runLoad({
      origin,
      paths: ['/x'],
      concurrency: 4,
      rate: 100,
      warmupMs: 100,
      durationMs: 0,
      phases: [
        { durationMs: 200, rate: 300 },
        { durationMs: 200, rate: 100 },
      ],
      onPhase: (index) => calls.push({ index, atMs: performance.now() - t0 }),
      timeline: true,
    });
    // Each measured request with how late it was sent: never before its due time.
    expect(result.timeline!.length).toBe(result.requests);
    for (const [due, ms, status, lag] of result.timeline!) {
      expect(status).toBe('200');
      expect(lag).toBeGreaterThanOrEqual(-0.01);
      expect(lag).toBeLessThanOrEqual(ms);
      expect(due).toBeLessThan(500);
    }
    expect(calls.map((c) => c.index)).toEqual([0, 1, 2]);
    // Timers fire late on a busy machine; early only by the event loop's cached clock (a few ms).
    expect(calls[0]!.atMs).toBeGreaterThanOrEqual(80);
    expect(calls[1]!.atMs - calls[0]!.atMs).toBeGreaterThanOrEqual(180);
    expect(calls[2]!.atMs - calls[1]!.atMs).toBeGreaterThanOrEqual(150);
    expect(result.requests).toBeGreaterThan(50);
  });

  it('opens every connection of the pool before the first timed request when asked', async () => {
    const { origin, seen } = await start();
    await runLoad({
      origin,
      paths: ['/timed'],
      concurrency: 6,
      rate: 50,
      durationMs: 200,
      preconnectPath: '/healthz',
    });
    const firstTimed = seen.findIndex((s) => s.path === '/timed');
    expect(firstTimed).toBe(6);
    expect(new Set(seen.slice(0, 6).map((s) => s.socket)).size).toBe(6);
    expect(seen.slice(0, 6).every((s) => s.path === '/healthz')).toBe(true);
  });
});
