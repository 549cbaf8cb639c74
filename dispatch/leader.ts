// Leader election among dispatch instances (ZooKeeper's classic recipe): each instance creates an
// ephemeral sequential node `<root>/dispatch/election/n-<seq>` holding {"url": ...}; the lowest
// sequence number leads. Exactly one instance assigns ids at a time.
//
// We watch the election folder's children rather than only the predecessor node: with the few
// dispatch instances a deployment runs there is no herd to avoid, and seeing the whole list keeps
// every follower's idea of the leader's URL current (it is what a follower answers with).
//
// Concurrency and safety: state() is a synchronous read used by the writer before reserving ids
// and again before writing. Leadership is dropped at once when the ZooKeeper connection is lost
// ('disconnected'): the session may expire on the server and another instance take over before
// this client learns of it, so a disconnected instance must not assign ids. It is re-evaluated
// (from the children list) when the connection comes back, and every time it is regained the term
// increases, so the writer reserves a NEW id block (never continues an old one). After a session
// expiry core/zookeeper.ts re-creates the node, with a new, higher sequence number.
import { EventEmitter } from 'node:events';
import type { Logger } from '../core/logger.js';
import { zkPaths } from '../core/zk-paths.js';
import type { Registration, Unwatch, ZkClient } from '../core/zookeeper.js';
import type { LeaderState, Leadership } from './writer.js';

const PREFIX = 'n-';

/** Events: 'change' (LeaderState) whenever leadership or the known leader URL changes. */
export class Election extends EventEmitter implements Leadership {
  #zk: ZkClient;
  #dir: string;
  #url: string;
  #log: Logger;
  #reg: Registration | undefined;
  #unwatch: Unwatch | undefined;
  #children: string[] = [];
  #leader = false;
  #term = 0;
  #leaderUrl: string | undefined;
  #urls = new Map<string, string>();
  #closed = false;
  // Without ZooKeeper it cannot know who leads: it must not name itself to clients either.
  #onDisconnected = () =>
    this.#set(
      false,
      this.#leaderUrl === this.#url ? undefined : this.#leaderUrl,
      'ZooKeeper connection lost',
    );
  #onConnected = () => void this.#evaluate(this.#children);

  constructor(zk: ZkClient, zkRoot: string, url: string, log: Logger) {
    super();
    this.#zk = zk;
    this.#dir = zkPaths(zkRoot).dispatchElection;
    this.#url = url;
    this.#log = log.child({ component: 'election' });
  }

  state(): LeaderState {
    return { leader: this.#leader, term: this.#term, leaderUrl: this.#leaderUrl };
  }

  /** Joins the election; resolves once this instance's node exists and the first evaluation ran. */
  async start(): Promise<void> {
    await this.#zk.mkdirp(this.#dir);
    this.#reg = await this.#zk.register(`${this.#dir}/${PREFIX}`, JSON.stringify({ url: this.#url }), {
      sequential: true,
    });
    this.#zk.on('disconnected', this.#onDisconnected);
    this.#zk.on('connected', this.#onConnected);
    this.#zk.on('session', this.#onConnected);
    this.#unwatch = await this.#zk.watchChildren(this.#dir, (children) => this.#evaluate(children ?? []));
  }

  /** Leaves the election (deletes this instance's node, so a follower takes over at once). */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    this.#zk.off('disconnected', this.#onDisconnected);
    this.#zk.off('connected', this.#onConnected);
    this.#zk.off('session', this.#onConnected);
    this.#set(false, undefined, 'stepping down');
    await this.#reg
      ?.unregister()
      .catch((err: unknown) => this.#log.warn({ err }, 'could not delete election node'));
  }

  async #evaluate(children: string[]): Promise<void> {
    if (this.#closed) return;
    this.#children = children;
    const candidates = children.filter((c) => c.startsWith(PREFIX)).sort(bySequence);
    const mine =
      this.#reg === undefined ? undefined : this.#reg.path.slice(this.#reg.path.lastIndexOf('/') + 1);
    const first = candidates[0];
    if (first === undefined || mine === undefined) return this.#set(false, undefined, 'no candidates');
    if (!this.#zk.isConnected()) return this.#set(false, this.#leaderUrl, 'ZooKeeper not connected');
    if (first === mine) return this.#set(true, this.#url, 'lowest election node');
    let url = this.#urls.get(first);
    if (url === undefined) {
      try {
        const node = await this.#zk.get(`${this.#dir}/${first}`);
        url = node === null ? undefined : (JSON.parse(node.data.toString('utf8')) as { url?: string }).url;
        if (url !== undefined) this.#urls.set(first, url);
      } catch (err) {
        this.#log.warn({ err, node: first }, 'could not read the leader node');
      }
    }
    this.#set(false, url, `${first} leads`);
  }

  #set(leader: boolean, leaderUrl: string | undefined, why: string): void {
    if (leader && !this.#leader) this.#term++;
    const changed = leader !== this.#leader || leaderUrl !== this.#leaderUrl;
    this.#leader = leader;
    this.#leaderUrl = leaderUrl;
    if (!changed) return;
    this.#log.info(
      { leader, term: this.#term, leaderUrl: leaderUrl ?? null, why },
      leader ? 'leading: this instance assigns message ids' : 'following',
    );
    this.emit('change', this.state());
  }
}

function bySequence(a: string, b: string): number {
  return Number(a.slice(PREFIX.length)) - Number(b.slice(PREFIX.length));
}
