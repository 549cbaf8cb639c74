// A slow link in user space, for kernels without tc netem (CONFIG_NET_SCH_NETEM is off on this
// machine's kernel, so `tc qdisc ... netem delay` fails): a TCP relay that listens on one address
// and forwards to another, holding every chunk for half the configured delay in each direction,
// so a request/answer round trip takes `delayMs` longer. Chunks keep their order (timers with the
// same delay fire in order). It runs in the test process, on the bridge address: a replica that
// advertises the bridge address is reached by the merger only through it.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayLink {
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startDelayLink(
  listen: { host: string; port: number },
  target: { host: string; port: number },
): Promise<DelayLink> {
  let delay = 0;
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      const half = delay / 2;
      if (half <= 0) to.write(chunk);
      else setTimeout(() => to.writable && to.write(chunk), half);
    });
    from.on('end', () => setTimeout(() => to.end(), delay / 2));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), delay / 2));
  };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    setDelay: (ms) => {
      delay = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
