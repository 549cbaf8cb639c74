// Sends billing's customer changes (offline when the daily budget is spent, online again) to
// dispatch: `POST /v1/changes` with the Bearer secret and the customer's whole entity, exactly as
// the BP does. The answer's message id is what billing remembers its hold by.
//
// Where dispatch is: --dispatch-url, or the current leader of the dispatch election in ZooKeeper
// (lowest `<root>/dispatch/election/n-*`, whose data is {"url"}). A follower answers 503 with the
// leader in `x-imatch-leader`; the client follows it once per call.
//
// Concurrency: any number of calls at once; undici Pools (keep-alive) per origin, cached.
import { Pool } from 'undici';
import { ImatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Change } from '../core/model.js';
import { zkPaths } from '../core/zk-paths.js';
import type { ZkClient } from '../core/zookeeper.js';

export interface ChangeSender {
  /** Resolves with the message ids dispatch assigned once the changes are durable. */
  send(changes: Change[]): Promise<number[]>;
  close(): Promise<void>;
}

export interface DispatchClientOptions {
  url?: string | undefined;
  zk?: ZkClient | undefined;
  zkRoot: string;
  secret: string;
  timeoutMs: number;
  log: Logger;
}

export class DispatchClient implements ChangeSender {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly o: DispatchClientOptions) {}

  async send(changes: Change[]): Promise<number[]> {
    let url = await this.resolveUrl();
    for (let hop = 0; hop < 2; hop++) {
      const res = await this.pool(url)
        .request({
          method: 'POST',
          path: '/v1/changes',
          headers: { authorization: `Bearer ${this.o.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ changes }),
          headersTimeout: this.o.timeoutMs,
          bodyTimeout: this.o.timeoutMs,
        })
        .catch((err: unknown) => {
          throw new ImatchError(
            'IM_ERR_UPSTREAM_DOWN',
            `dispatch at ${url} unreachable: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        const ids = (JSON.parse(text) as { ids?: unknown }).ids;
        if (
          !Array.isArray(ids) ||
          ids.length !== changes.length ||
          !ids.every((i) => Number.isSafeInteger(i))
        )
          throw new ImatchError(
            'IM_ERR_UPSTREAM_DOWN',
            `dispatch answered without ids: ${text.slice(0, 200)}`,
          );
        return ids as number[];
      }
      const leader = res.headers['x-imatch-leader'];
      if (res.statusCode === 503 && typeof leader === 'string' && leader !== url && hop === 0) {
        this.o.log.info({ from: url, to: leader }, 'following the dispatch leader');
        url = leader;
        continue;
      }
      const code = res.statusCode >= 500 ? 'IM_ERR_UPSTREAM_DOWN' : 'IM_ERR_BAD_REQUEST';
      throw new ImatchError(code, `dispatch answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    throw new ImatchError('IM_ERR_UPSTREAM_DOWN', 'dispatch leader moved during the call');
  }

  private async resolveUrl(): Promise<string> {
    if (this.o.url) return this.o.url;
    const zk = this.o.zk;
    if (!zk) throw new ImatchError('IM_ERR_CONFIG', 'no --dispatch-url and no ZooKeeper to find dispatch');
    const dir = zkPaths(this.o.zkRoot).dispatchElection;
    const children = (await zk.children(dir).catch(() => [] as string[])).sort();
    for (const child of children) {
      const node = await zk.get(`${dir}/${child}`).catch(() => null);
      if (node === null) continue;
      try {
        const url = (JSON.parse(node.data.toString('utf8')) as { url?: unknown }).url;
        if (typeof url === 'string') return url;
      } catch {
        // not a dispatch node; try the next
      }
    }
    throw new ImatchError('IM_ERR_UPSTREAM_DOWN', `no dispatch instance registered under ${dir}`);
  }

  private pool(url: string): Pool {
    let p = this.pools.get(url);
    if (p === undefined) {
      p = new Pool(url, { connections: 2, keepAliveTimeout: 10_000 });
      this.pools.set(url, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }
}
