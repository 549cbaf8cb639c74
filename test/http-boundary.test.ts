// Errors Node's HTTP parser raises before any route runs get the same error body as every other
// error, with a code, on every HTTP service: a real socket to each service's real app (listening
// on 127.0.0.1, any port), raw bytes that no HTTP client would send.
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standInApps } from '../bin/docs/stand-in-apps.js';
import { SERVICES } from '../core/service-metrics.js';

/** Sends raw bytes, returns the status and the JSON body of the answer (the server closes). */
function raw(port: number, bytes: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      text += c;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ status, body: JSON.parse(body) as Record<string, unknown> });
      } catch {
        reject(new Error(`not a JSON answer: ${text.slice(0, 500)}`));
      }
    });
    socket.end(bytes);
  });
}

const BAD = {
  'a non-numeric Content-Length': {
    bytes: 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ten\r\n\r\n{}',
    status: 400,
    code: 'IM_ERR_BAD_HTTP',
  },
  'Content-Length together with Transfer-Encoding': {
    bytes:
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
    code: 'IM_ERR_BAD_HTTP',
  },
  'a 20 KB request line': {
    bytes: `GET /${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    status: 431,
    code: 'IM_ERR_HEADERS_TOO_LARGE',
  },
};

const apps = new Map<string, { app: FastifyInstance; port: number }>();
beforeAll(async () => {
  for (const s of await standInApps()) {
    const app = s.build();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    apps.set(s.name, { app, port: typeof address === 'object' && address !== null ? address.port : 0 });
  }
});
afterAll(async () => {
  await Promise.all([...apps.values()].map((a) => a.app.close()));
});

describe('errors before routing', () => {
  for (const service of SERVICES) {
    for (const [what, bad] of Object.entries(BAD)) {
      it(`${service}: ${what} -> ${bad.status} ${bad.code}`, async () => {
        const { port } = apps.get(service)!;
        const res = await raw(port, bad.bytes);
        expect(res.status).toBe(bad.status);
        expect(res.body).toMatchObject({ statusCode: bad.status, code: bad.code });
        expect(res.body.error).not.toBe('Error');
        expect(typeof res.body.message).toBe('string');
      });
    }
  }
});
