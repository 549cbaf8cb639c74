// Free TCP ports on 127.0.0.1 for servers a test starts.
//
// The ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range, on Linux
// 32768-60999), not from binding port 0. A port is released before it is returned, and a server
// binds it seconds later (a service listens only once it has reached ZooKeeper and Kafka). A port
// from the ephemeral range could meanwhile become the local end of any outgoing connection on the
// machine (the services' own ZooKeeper, Kafka and frame connections) or the port-0 frames listener
// of a service, and the server then failed with EADDRINUSE: the query-path test lost its blender
// that way once in CI (2026-12-07, port 40323). Below the range, only another test server can
// take a port, and the ports are handed out in turn from a cursor, so one test process does not
// hand out the same port twice in a row; a port some other program holds is skipped.
//
// Integration files run one at a time (vitest.config.ts), so no two test processes pick at once.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Where the ports come from: [LOW, first ephemeral port). */
const LOW = 15_000;
const FALLBACK_EPHEMERAL_START = 32_768;

function ephemeralStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(start);
    return Number.isInteger(n) && n > LOW + 1000 ? n : FALLBACK_EPHEMERAL_START;
  } catch {
    return FALLBACK_EPHEMERAL_START;
  }
}

const HIGH = ephemeralStart(); // exclusive
const SPAN = HIGH - LOW;
/** The next port to try, from a random start so consecutive runs do not reuse the same ports. */
let cursor = LOW + Math.floor(Math.random() * SPAN);

function nextCandidate(): number {
  const port = cursor;
  cursor = cursor + 1 >= HIGH ? LOW : cursor + 1;
  return port;
}

/** Binds `port` on 127.0.0.1 exclusively; undefined when it is taken. */
function tryBind(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(undefined);
      else reject(err);
    });
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(srv));
  });
}

/** Holds the next free port of the range (the caller closes the returned server). */
async function holdNext(): Promise<{ port: number; server: Server }> {
  for (let attempt = 0; attempt < SPAN; attempt++) {
    const port = nextCandidate();
    const server = await tryBind(port);
    if (server !== undefined) return { port, server };
  }
  throw new Error(`no free port in ${LOW}-${HIGH - 1}`);
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function freePort(): Promise<number> {
  const { port, server } = await holdNext();
  await close(server);
  return port;
}

/** `count` distinct free ports (held together while choosing, so they never collide). */
export async function freePorts(count: number): Promise<number[]> {
  const held: { port: number; server: Server }[] = [];
  try {
    for (let i = 0; i < count; i++) held.push(await holdNext());
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => close(h.server)));
  }
}
