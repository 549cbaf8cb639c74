// test/helpers/ports.ts: the ports test servers get are free, distinct, and below the kernel's
// ephemeral range, where no outgoing connection can take one before its server binds it.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts } from './helpers/index.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(srv));
  });
}

const ephemeralStart = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
})();

describe('test ports', () => {
  it('hands out distinct ports below the ephemeral range that a server can bind', async () => {
    const ports = [...(await freePorts(8)), await freePort(), await freePort()];
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(1024);
      expect(p).toBeLessThan(ephemeralStart);
    }
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('skips a port another server holds', async () => {
    // Ports are handed out in turn, so the one after the last handed out is the next candidate.
    const [last] = (await freePorts(1)) as [number];
    const blocker = await listen(last + 1);
    try {
      const next = await freePort();
      expect(next).not.toBe(last + 1);
      const srv = await listen(next);
      await new Promise((r) => srv.close(r));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
