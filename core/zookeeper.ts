// The ZooKeeper adapter every service uses, over node-zookeeper-client: promise calls with
// deadlines and ImatchError codes, ephemeral registrations that come back by themselves after a
// session expiry, and watches that keep firing on every change until unsubscribed.
//
// Concurrency model: one ZkClient owns one ZooKeeper session at a time. A lost connection is
// retried by the library with the same session (ephemerals and watches survive); an expired
// session cannot be resumed with node-zookeeper-client, so the adapter builds a NEW client, and
// once it is connected re-creates every registration and re-reads every watched node (calling the
// callback when the node changed meanwhile). Calls made while no session is connected wait for one
// (up to opTimeoutMs). Each watch reads its node serially: an event that arrives during a read marks
// it dirty and causes one more read, so a burst of changes gives at least one callback with the
// latest state (intermediate states may be skipped; callbacks never run concurrently per watch).
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorCode, ImatchError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

// node-zookeeper-client ships no types: the part of its API used here, typed by hand.
interface RawStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}
interface RawException extends Error {
  getCode(): number;
}
type Cb<T> = (error: RawException | null, result: T) => void;
type RawWatcher = (event: { getType(): number; getPath(): string }) => void;
interface RawClient extends EventEmitter {
  connect(): void;
  close(): void;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  create(path: string, data: Buffer | null, acls: unknown, mode: number, cb: Cb<string>): void;
  remove(path: string, version: number, cb: (error: RawException | null) => void): void;
  setData(path: string, data: Buffer | null, version: number, cb: Cb<RawStat>): void;
  getData(
    path: string,
    watcher: RawWatcher | undefined,
    cb: (e: RawException | null, d: Buffer, s: RawStat) => void,
  ): void;
  exists(path: string, watcher: RawWatcher | undefined, cb: Cb<RawStat | null>): void;
  getChildren(
    path: string,
    watcher: RawWatcher | undefined,
    cb: (e: RawException | null, c: string[], s: RawStat) => void,
  ): void;
  mkdirp(path: string, data: Buffer | null, acls: unknown, mode: number, cb: Cb<string>): void;
  connectionManager?: { socket?: Socket };
}
interface ZkModule {
  createClient(connect: string, options: Record<string, unknown>): RawClient;
  ACL: { OPEN_ACL_UNSAFE: unknown };
  Exception: Record<string, number>;
}
const zk = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;
const EX = zk.Exception;
const OPEN = zk.ACL.OPEN_ACL_UNSAFE;
const MODE = { persistent: 0, ephemeral: 1, 'persistent-sequential': 2, 'ephemeral-sequential': 3 } as const;

export type CreateMode = keyof typeof MODE;

export interface ZkStat {
  version: number;
  cversion: number;
  dataLength: number;
  numChildren: number;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ctimeMs: number;
  mtimeMs: number;
  /** Session id (hex) owning this node when it is ephemeral, else "0". */
  ephemeralOwner: string;
}

export interface ZkNode {
  data: Buffer;
  stat: ZkStat;
}

export interface ZkClientOptions {
  /** Connect string `host:port[,host:port][/chroot]`. */
  connect: string;
  /** Session timeout requested from the server (ms); default 10000. */
  sessionTimeoutMs?: number;
  /** How long connectZk waits for the first session (ms); default 10000. */
  connectTimeoutMs?: number;
  /** How long one call may wait for a connected session and its answer (ms); default 15000. */
  opTimeoutMs?: number;
  log?: Logger;
}

export interface Registration {
  /** The node's current path (changes after an expiry when the node is sequential). */
  readonly path: string;
  /** Replaces the node's data now and for every later re-registration. */
  update(data: Buffer | string): Promise<void>;
  /** Deletes the node and stops re-creating it. */
  unregister(): Promise<void>;
}

export type Unwatch = () => void;

interface WatchState {
  kind: 'data' | 'children';
  path: string;
  cb: (value: unknown) => void | Promise<void>;
  lastKey: string | undefined;
  closed: boolean;
  running: boolean;
  dirty: boolean;
  armed: boolean;
  watcher: RawWatcher;
}

interface RegistrationState {
  base: string;
  sequential: boolean;
  path: string;
  data: Buffer;
  active: boolean;
}

/** Connects and resolves once a session is established; rejects with IM_ERR_ZK_UNAVAILABLE. */
export async function connectZk(options: ZkClientOptions): Promise<ZkClient> {
  const client = new ZkClient(options);
  await client.start();
  return client;
}

/**
 * Events: 'connected' (a session is usable), 'disconnected', 'session' (a NEW session was
 * established after an expiry; registrations and watches are restored by then), 'expired'.
 */
export class ZkClient extends EventEmitter {
  readonly connectString: string;
  private readonly sessionTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly opTimeoutMs: number;
  private readonly log: Logger;
  private raw: RawClient | undefined;
  private connected = false;
  private closed = false;
  private sessionHex = '';
  private waiters: Array<() => void> = [];
  private readonly watches = new Set<WatchState>();
  private readonly registrations = new Set<RegistrationState>();
  /** Read-timeout watchdog (see watchSocket). */
  private readonly readTimeoutMs: number;
  private watchdog: NodeJS.Timeout | undefined;
  private watchedSocket: Socket | undefined;
  private lastReadAt = 0;

  constructor(options: ZkClientOptions) {
    super();
    this.connectString = options.connect;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.opTimeoutMs = options.opTimeoutMs ?? 15_000;
    this.log = (options.log ?? silentLogger()).child({ component: 'zookeeper' });
    this.readTimeoutMs = Math.floor((this.sessionTimeoutMs * 2) / 3);
  }

  /** The current session id in hex ('' when none). */
  get sessionId(): string {
    return this.sessionHex;
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** @internal used by connectZk */
  async start(): Promise<void> {
    this.raw = this.newRaw();
    this.watchdog = setInterval(() => this.watchSocket(), Math.max(50, Math.floor(this.readTimeoutMs / 8)));
    this.watchdog.unref();
    try {
      await this.waitConnected(this.connectTimeoutMs);
    } catch (err) {
      await this.close();
      throw new ImatchError(
        'IM_ERR_ZK_UNAVAILABLE',
        `ZooKeeper at ${this.connectString} did not accept a session within ${this.connectTimeoutMs} ms`,
        { cause: err },
      );
    }
  }

  private newRaw(session?: { id: Buffer; password: Buffer }): RawClient {
    const raw = zk.createClient(this.connectString, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
      ...(session ? { sessionId: session.id, sessionPassword: session.password } : {}),
    });
    if (session) {
      raw.connect();
      return raw; // a twin for expireSessionForTest: no listeners of ours
    }
    raw.on('connected', () => this.onConnected(raw));
    raw.on('disconnected', () => {
      if (raw !== this.raw) return;
      this.connected = false;
      this.log.debug('disconnected; the client reconnects by itself');
      this.emit('disconnected');
    });
    raw.on('expired', () => {
      if (raw !== this.raw || this.closed) return;
      this.log.warn({ session: this.sessionHex }, 'session expired; opening a new session');
      this.connected = false;
      this.emit('expired');
      this.replaceRaw(raw);
    });
    raw.connect();
    return raw;
  }

  /**
   * The read timeout node-zookeeper-client lacks (its `readTimeout` is commented out): the library
   * sends a ping after a third of the session timeout without traffic, but never notices that
   * nothing comes back. Behind a silent partition (packets dropped, no RST) the client stayed
   * "connected" for minutes while the server had long expired its session, so a dispatch leader
   * cut from ZooKeeper kept assigning ids after another instance had taken over. Like the Java
   * client, a connection that has received nothing for 2/3 of the session timeout is closed:
   * the library reports 'disconnected' (leaders step down) and reconnects to another server,
   * before the server can expire the session (at the full session timeout).
   */
  private watchSocket(): void {
    if (this.closed) {
      clearInterval(this.watchdog);
      return;
    }
    const socket = this.raw?.connectionManager?.socket;
    if (socket === undefined) return;
    if (socket !== this.watchedSocket) {
      this.watchedSocket = socket;
      this.lastReadAt = Date.now();
      socket.on('data', () => {
        if (socket === this.watchedSocket) this.lastReadAt = Date.now();
      });
      return;
    }
    const silentMs = Date.now() - this.lastReadAt;
    if (!this.connected || silentMs <= this.readTimeoutMs) return;
    this.log.warn(
      { session: this.sessionHex, silentMs, readTimeoutMs: this.readTimeoutMs },
      'nothing received from ZooKeeper within the read timeout; closing the connection',
    );
    this.lastReadAt = Date.now();
    socket.destroy();
  }

  private replaceRaw(old: RawClient): void {
    detach(old);
    safeClose(old);
    if (this.closed) return;
    this.raw = this.newRaw();
  }

  private onConnected(raw: RawClient): void {
    if (raw !== this.raw || this.closed) return;
    const id = raw.getSessionId().toString('hex');
    const isNew = id !== this.sessionHex;
    const hadSession = this.sessionHex !== '';
    this.sessionHex = id;
    this.connected = true;
    this.log.debug({ session: id, isNew }, 'connected');
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    this.emit('connected');
    if (isNew && hadSession) {
      void this.restoreSession().then(() => this.emit('session', id));
    } else {
      for (const w of this.watches) if (!w.armed) void this.arm(w);
    }
  }

  /** After a new session: re-create every registration, re-read every watch. */
  private async restoreSession(): Promise<void> {
    await Promise.all([...this.registrations].map((r) => this.ensureRegistered(r, Number.POSITIVE_INFINITY)));
    await Promise.all([...this.watches].map((w) => this.arm(w)));
    this.log.info(
      { session: this.sessionHex, registrations: this.registrations.size, watches: this.watches.size },
      'session restored',
    );
  }

  private waitConnected(timeoutMs: number): Promise<RawClient> {
    if (this.closed)
      return Promise.reject(new ImatchError('IM_ERR_ZK_UNAVAILABLE', 'ZooKeeper client is closed'));
    if (this.connected && this.raw) return Promise.resolve(this.raw);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new ImatchError(
            'IM_ERR_ZK_UNAVAILABLE',
            `No ZooKeeper session within ${timeoutMs} ms (${this.connectString})`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        clearTimeout(timer);
        if (this.closed || !this.raw)
          reject(new ImatchError('IM_ERR_ZK_UNAVAILABLE', 'ZooKeeper client is closed'));
        else resolve(this.raw);
      };
      this.waiters.push(waiter);
    });
  }

  /** Runs one library call on a connected session, with the op deadline and error mapping. */
  private async call<T>(op: string, path: string, fn: (raw: RawClient, done: Cb<T>) => void): Promise<T> {
    const deadline = Date.now() + this.opTimeoutMs;
    const raw = await this.waitConnected(this.opTimeoutMs);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ImatchError(
              'IM_ERR_ZK_UNAVAILABLE',
              `ZooKeeper ${op} ${path}: no answer within ${this.opTimeoutMs} ms`,
            ),
          ),
        Math.max(1, deadline - Date.now()),
      );
      fn(raw, (error, result) => {
        clearTimeout(timer);
        if (error) reject(toImatchError(error, op, path));
        else resolve(result);
      });
    });
  }

  /** Reads retry once the session is back when the connection drops under them. */
  private async read<T>(op: string, path: string, fn: (raw: RawClient, done: Cb<T>) => void): Promise<T> {
    const deadline = Date.now() + this.opTimeoutMs;
    for (;;) {
      try {
        return await this.call(op, path, fn);
      } catch (err) {
        if (
          !(err instanceof ImatchError) ||
          err.code !== 'IM_ERR_ZK_UNAVAILABLE' ||
          Date.now() > deadline ||
          this.closed
        )
          throw err;
        await sleep(50);
      }
    }
  }

  /** The node's data and stat, or null when it does not exist. */
  async get(path: string): Promise<ZkNode | null> {
    return this.read<ZkNode | null>('get', path, (raw, done) =>
      raw.getData(path, undefined, (e, data, stat) => {
        if (e && e.getCode() === EX.NO_NODE) done(null, null);
        else done(e, e ? null : { data: data ?? Buffer.alloc(0), stat: toStat(stat) });
      }),
    );
  }

  /** The node's stat, or null when it does not exist. */
  async exists(path: string): Promise<ZkStat | null> {
    return this.read<ZkStat | null>('exists', path, (raw, done) =>
      raw.exists(path, undefined, (e, stat) => done(e, stat ? toStat(stat) : null)),
    );
  }

  /** Child names (not paths), sorted. Throws IM_ERR_ZK_NO_NODE when the node does not exist. */
  async children(path: string): Promise<string[]> {
    const list = await this.read<string[]>('children', path, (raw, done) =>
      raw.getChildren(path, undefined, (e, c) => done(e, c)),
    );
    return list.sort();
  }

  /** Sets the data; `version` -1 (default) matches any version, else IM_ERR_ZK_BAD_VERSION. */
  async set(path: string, data: Buffer | string, version = -1): Promise<ZkStat> {
    const stat = await this.call<RawStat>('set', path, (raw, done) =>
      raw.setData(path, toBuffer(data), version, done),
    );
    return toStat(stat);
  }

  /** Sets a persistent node's data, creating it and its parents when needed (the last writer wins). */
  async put(path: string, data: Buffer | string): Promise<void> {
    if ((await this.exists(path)) !== null) {
      await this.set(path, data);
      return;
    }
    await this.mkdirp(path.slice(0, path.lastIndexOf('/')) || '/');
    try {
      await this.create(path, data);
    } catch (err) {
      // Created meanwhile by another writer: overwrite.
      if ((await this.exists(path)) === null) throw err;
      await this.set(path, data);
    }
  }

  /** Creates a node and returns its path (with the sequence suffix for sequential modes). */
  async create(
    path: string,
    data: Buffer | string = Buffer.alloc(0),
    mode: CreateMode = 'persistent',
  ): Promise<string> {
    return this.call<string>('create', path, (raw, done) =>
      raw.create(path, toBuffer(data), OPEN, MODE[mode], done),
    );
  }

  /** Deletes a node; `version` -1 (default) matches any version. */
  async delete(path: string, version = -1): Promise<void> {
    await this.call<void>('delete', path, (raw, done) =>
      raw.remove(path, version, (e) => done(e, undefined)),
    );
  }

  /** Creates the node and its missing parents (persistent); existing nodes are left as they are. */
  async mkdirp(path: string, data: Buffer | string = Buffer.alloc(0)): Promise<void> {
    await this.call<string>('mkdirp', path, (raw, done) =>
      raw.mkdirp(path, toBuffer(data), OPEN, MODE.persistent, done),
    );
  }

  /**
   * Deletes a node and everything below it, depth first (node-zookeeper-client's removeRecursive
   * fails on deep trees). A node that is already gone is fine.
   */
  async deleteRecursive(path: string): Promise<void> {
    let kids: string[];
    try {
      kids = await this.children(path);
    } catch (err) {
      if (err instanceof ImatchError && err.code === 'IM_ERR_ZK_NO_NODE') return;
      throw err;
    }
    const base = path === '/' ? '' : path;
    for (let i = 0; i < kids.length; i += 16) {
      await Promise.all(kids.slice(i, i + 16).map((k) => this.deleteRecursive(`${base}/${k}`)));
    }
    if (path === '/') return;
    try {
      await this.delete(path);
    } catch (err) {
      if (err instanceof ImatchError && err.code === 'IM_ERR_ZK_NO_NODE') return;
      // A child appeared meanwhile: go again.
      if (err instanceof ImatchError && err.code === 'IM_ERR_ZK_NOT_EMPTY') return this.deleteRecursive(path);
      throw err;
    }
  }

  /**
   * Creates an ephemeral node (parents as persistent nodes) that this client keeps alive: after a
   * session expiry it is created again, with the latest data. When the path is taken by a node of
   * another session (for example this service's previous run, whose session has not expired yet),
   * waits for that node to go, up to `timeoutMs` (default 3 x the session timeout).
   */
  async register(
    path: string,
    data: Buffer | string,
    options: { sequential?: boolean; timeoutMs?: number } = {},
  ): Promise<Registration> {
    const state: RegistrationState = {
      base: path,
      sequential: options.sequential === true,
      path,
      data: toBuffer(data),
      active: true,
    };
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (parent !== '') await this.mkdirp(parent);
    await this.ensureRegistered(state, options.timeoutMs ?? 3 * this.sessionTimeoutMs);
    this.registrations.add(state);
    return {
      get path() {
        return state.path;
      },
      update: async (next) => {
        state.data = toBuffer(next);
        await this.set(state.path, state.data);
      },
      unregister: async () => {
        state.active = false;
        this.registrations.delete(state);
        if (this.closed) return;
        try {
          await this.delete(state.path);
        } catch (err) {
          if (!(err instanceof ImatchError && err.code === 'IM_ERR_ZK_NO_NODE')) throw err;
        }
      },
    };
  }

  private async ensureRegistered(state: RegistrationState, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; state.active && !this.closed; attempt++) {
      try {
        const mode: CreateMode = state.sequential ? 'ephemeral-sequential' : 'ephemeral';
        state.path = await this.create(state.base, state.data, mode);
        this.log.debug({ path: state.path }, 'registered');
        return;
      } catch (err) {
        if (!(err instanceof ImatchError)) throw err;
        if (err.code === 'IM_ERR_ZK_NODE_EXISTS') {
          const stat = await this.exists(state.base).catch(() => null);
          if (stat && stat.ephemeralOwner === this.sessionHex) {
            await this.set(state.base, state.data).catch(() => undefined);
            return;
          }
          if (attempt === 0 || attempt % 20 === 0) {
            this.log.warn(
              { path: state.base, owner: stat?.ephemeralOwner },
              'registration path held by another session; waiting for it to go',
            );
          }
        } else if (!err.retriable) {
          throw err;
        }
        if (Date.now() > deadline) {
          throw new ImatchError(
            'IM_ERR_ZK_NODE_EXISTS',
            `Cannot register ${state.base}: it still belongs to another session after ${timeoutMs} ms (is another process registered under the same name?)`,
            { cause: err },
          );
        }
        await sleep(Math.min(1000, 100 * (attempt + 1)));
      }
    }
  }

  /**
   * Calls `cb` with the node's data now and after every change (null while the node does not
   * exist) until the returned function is called. Survives reconnections and session expiry.
   */
  async watchData(path: string, cb: (node: ZkNode | null) => void | Promise<void>): Promise<Unwatch> {
    return this.watch('data', path, cb as WatchState['cb']);
  }

  /**
   * Calls `cb` with the sorted child names now and after every change of the set of children
   * (null while the node does not exist) until the returned function is called.
   */
  async watchChildren(
    path: string,
    cb: (children: string[] | null) => void | Promise<void>,
  ): Promise<Unwatch> {
    return this.watch('children', path, cb as WatchState['cb']);
  }

  private async watch(kind: WatchState['kind'], path: string, cb: WatchState['cb']): Promise<Unwatch> {
    const state: WatchState = {
      kind,
      path,
      cb,
      lastKey: undefined,
      closed: false,
      running: false,
      dirty: false,
      armed: false,
      watcher: () => {
        state.armed = false;
        if (!state.closed) void this.arm(state);
      },
    };
    this.watches.add(state);
    try {
      await this.arm(state, true);
    } catch (err) {
      state.closed = true;
      this.watches.delete(state);
      throw err;
    }
    return () => {
      state.closed = true;
      this.watches.delete(state);
    };
  }

  /** Reads the watched node with a one-shot watcher and delivers the value when it changed. */
  private async arm(state: WatchState, throwErrors = false): Promise<void> {
    if (state.running) {
      state.dirty = true;
      return;
    }
    state.running = true;
    try {
      do {
        state.dirty = false;
        if (state.closed || this.closed) return;
        let value: unknown;
        let key: string;
        try {
          [value, key] =
            state.kind === 'data' ? await this.readDataArmed(state) : await this.readChildrenArmed(state);
          state.armed = true;
        } catch (err) {
          state.armed = false;
          // Re-armed on the next 'connected' (same session) or 'session' (new one).
          if (throwErrors) throw err;
          this.log.debug({ path: state.path, err }, 'watch read failed; re-arming on reconnect');
          return;
        }
        if (key !== state.lastKey && !state.closed) {
          state.lastKey = key;
          try {
            await state.cb(value);
          } catch (err) {
            this.log.error({ path: state.path, err }, 'watch callback failed');
          }
        }
      } while (state.dirty);
    } finally {
      state.running = false;
    }
  }

  private async readDataArmed(state: WatchState): Promise<[ZkNode | null, string]> {
    for (;;) {
      const node = await this.call<ZkNode | null>('watch', state.path, (raw, done) =>
        raw.getData(state.path, state.watcher, (e, data, stat) => {
          if (e && e.getCode() === EX.NO_NODE) done(null, null);
          else done(e, e ? null : { data: data ?? Buffer.alloc(0), stat: toStat(stat) });
        }),
      );
      if (node) return [node, `${node.stat.czxid}:${node.stat.version}`];
      // Absent: watch for its creation instead (exists sets a watch either way).
      const stat = await this.call<RawStat | null>('watch', state.path, (raw, done) =>
        raw.exists(state.path, state.watcher, done),
      );
      if (stat === null) return [null, 'absent'];
    }
  }

  private async readChildrenArmed(state: WatchState): Promise<[string[] | null, string]> {
    for (;;) {
      const got = await this.call<{ children: string[]; stat: RawStat } | null>(
        'watch',
        state.path,
        (raw, done) =>
          raw.getChildren(state.path, state.watcher, (e, children, stat) => {
            if (e && e.getCode() === EX.NO_NODE) done(null, null);
            else done(e, e ? null : { children, stat });
          }),
      );
      if (got) {
        const s = toStat(got.stat);
        return [got.children.sort(), `${s.czxid}:${s.cversion}`];
      }
      const stat = await this.call<RawStat | null>('watch', state.path, (raw, done) =>
        raw.exists(state.path, state.watcher, done),
      );
      if (stat === null) return [null, 'absent'];
    }
  }

  /**
   * Test hook: makes the server expire this client's session, then waits until the adapter has
   * opened a new session and restored its registrations and watches. The well-known trick: a twin
   * client joins the same session (id and password) and closes it. While the twin works, this
   * client's reconnection is held back (the library would otherwise re-attach the session at once
   * and the twin's close would hit a moved session); released, it reconnects and learns the
   * session has expired, as after a real network partition.
   */
  async expireSessionForTest(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const before = this.sessionHex;
    const restored = new Promise<void>((resolve) => {
      const onSession = (id: string) => {
        if (id !== before) {
          this.off('session', onSession);
          resolve();
        }
      };
      this.on('session', onSession);
    });
    const raw = await this.waitConnected(timeoutMs);
    const manager = raw.connectionManager as
      | (RawClient['connectionManager'] & { connect?: () => void })
      | undefined;
    if (!manager?.connect)
      throw new ImatchError('IM_ERR_INTERNAL', 'node-zookeeper-client internals changed');
    const connect = manager.connect;
    let held = false;
    manager.connect = () => {
      held = true;
    };
    try {
      const twin = this.newRaw({ id: raw.getSessionId(), password: raw.getSessionPassword() });
      const twinClosed = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10_000);
        twin.once('connected', () => safeClose(twin)); // sent in the same tick as the connect answer
        twin.once('disconnected', () => {
          clearTimeout(t);
          resolve();
        });
      });
      await twinClosed;
      twin.connectionManager?.socket?.destroy();
    } finally {
      manager.connect = connect;
      if (held) connect.call(manager);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      restored,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ImatchError(
                'IM_ERR_ZK_UNAVAILABLE',
                `Session ${before} was not replaced within ${timeoutMs} ms`,
              ),
            ),
          Math.max(1, deadline - Date.now()),
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Closes the session: its ephemeral nodes go at once; watches and registrations stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    for (const w of this.watches) w.closed = true;
    this.watches.clear();
    this.registrations.clear();
    const raw = this.raw;
    const wasConnected = this.connected;
    this.connected = false;
    for (const w of this.waiters.splice(0)) w();
    if (!raw) return;
    detach(raw);
    if (wasConnected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        raw.once('disconnected', () => {
          clearTimeout(t);
          resolve();
        });
        safeClose(raw);
      });
    }
    safeClose(raw);
    raw.connectionManager?.socket?.destroy();
  }
}

/** Removes this adapter's listeners (the library's own 'state' listener must stay). */
function detach(raw: RawClient): void {
  for (const event of ['connected', 'disconnected', 'expired']) raw.removeAllListeners(event);
}

function safeClose(raw: RawClient): void {
  try {
    raw.close();
  } catch {
    // Closing a client that never connected can throw inside the library; it is gone either way.
  }
}

function toBuffer(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function toStat(s: RawStat): ZkStat {
  const owner = s.ephemeralOwner.readBigUInt64BE(0);
  return {
    version: s.version,
    cversion: s.cversion,
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    czxid: s.czxid.readBigInt64BE(0),
    mzxid: s.mzxid.readBigInt64BE(0),
    pzxid: s.pzxid.readBigInt64BE(0),
    ctimeMs: Number(s.ctime.readBigInt64BE(0)),
    mtimeMs: Number(s.mtime.readBigInt64BE(0)),
    ephemeralOwner: owner === 0n ? '0' : s.ephemeralOwner.toString('hex'),
  };
}

function toImatchError(error: RawException, op: string, path: string): ImatchError {
  const code = typeof error.getCode === 'function' ? error.getCode() : Number.NaN;
  let imatch: ErrorCode = 'IM_ERR_ZK';
  if (code === EX.NO_NODE) imatch = 'IM_ERR_ZK_NO_NODE';
  else if (code === EX.NODE_EXISTS) imatch = 'IM_ERR_ZK_NODE_EXISTS';
  else if (code === EX.BAD_VERSION) imatch = 'IM_ERR_ZK_BAD_VERSION';
  else if (code === EX.NOT_EMPTY) imatch = 'IM_ERR_ZK_NOT_EMPTY';
  else if (code === EX.CONNECTION_LOSS || code === EX.SESSION_EXPIRED || code === EX.OPERATION_TIMEOUT) {
    imatch = 'IM_ERR_ZK_UNAVAILABLE';
  }
  return new ImatchError(imatch, `ZooKeeper ${op} ${path}: ${error.message}`, { cause: error });
}
