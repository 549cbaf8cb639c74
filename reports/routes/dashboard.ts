// The live dashboard: GET /dashboard (the page), /dashboard/app.js, /dashboard/uplot.min.js and
// .css (uPlot from node_modules: no CDN), GET /v1/live (one snapshot, JSON) and GET
// /v1/live/stream (server-sent events: an `snapshot` event every --dashboard-tick-ms).
//
// Concurrency: one LiveHub per app computes at most one snapshot at a time, only while a stream
// is open, and sends the same snapshot to every open stream (a hundred screens cost one query
// set per tick). A tick that finds the previous snapshot still running is skipped.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../core/logger.js';
import { DASHBOARD_HTML, DASHBOARD_JS } from '../dashboard/page.js';
import type { LiveSnapshot } from '../live.js';

const require = createRequire(import.meta.url);

export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private last: LiveSnapshot | undefined;

  constructor(
    private readonly compute: () => Promise<LiveSnapshot>,
    private readonly tickMs: number,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimer();
    });
    if (this.last !== undefined) this.write(res, this.last);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.tickMs);
      void this.tick();
    }
  }

  private write(res: ServerResponse, s: LiveSnapshot): void {
    res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const s = await this.compute();
      this.last = s;
      for (const res of this.clients) this.write(res, s);
    } catch (err) {
      this.log.warn({ err }, 'live snapshot failed');
    } finally {
      this.busy = false;
    }
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTimer();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

export function dashboardRoutes(
  app: FastifyInstance,
  deps: { hub: LiveHub; snapshot: () => Promise<LiveSnapshot> },
): void {
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const hide = { hide: true } as Record<string, unknown>;
  const cached = 'public, max-age=3600';
  app.get('/dashboard', { schema: hide }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_HTML),
  );
  app.get('/dashboard/app.js', { schema: hide }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_JS),
  );
  app.get('/dashboard/uplot.min.js', { schema: hide }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', cached).send(uplotJs),
  );
  app.get('/dashboard/uplot.min.css', { schema: hide }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', cached).send(uplotCss),
  );
  app.get(
    '/v1/live',
    { schema: { tags: ['live'], summary: 'One live dashboard snapshot (what the stream sends every tick)' } },
    async () => deps.snapshot(),
  );
  app.get(
    '/v1/live/stream',
    { schema: { tags: ['live'], summary: 'Server-sent events: a `snapshot` event every tick' } },
    (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 1000\n\n');
      req.raw.socket.setNoDelay(true);
      deps.hub.add(res);
    },
  );
}
