// The fault suite's network: one Linux network namespace per host, each with a veth pair whose
// outer end is on one bridge, and its own address on a /24 (10.77.N.0/24, the first N no
// interface of this machine uses). The test process stays in the root namespace and reaches
// every host through the bridge (10.77.N.1), like an outside client.
//
// Faults are nftables rules inside a host's own namespace (table `inet chaos`): a partition drops
// packets to and/or from chosen addresses there, loss drops a random share of them. This kernel
// may lack tc netem (CONFIG_NET_SCH_NETEM): latency is then a user-space delay link (see
// delay-link.ts) and `netemAvailable` says which one the run used.
//
// Names carry a random prefix (`cx<4 hex>-`), so two runs never collide, and the owner's PID is
// recorded in /run/imatch-chaos/<prefix>.pid: sweepStale() removes what a run that died left
// behind. destroy() kills every process still inside our namespaces, then removes namespaces,
// veths and the bridge; it is idempotent and never touches names without our prefix.
// Concurrency: every method is one or a few `ip`/`nft` commands run one after another.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const STATE_DIR = '/run/imatch-chaos';
const PREFIX_RE = /^cx[0-9a-f]{4}-/;

export interface Host {
  name: string;
  ns: string;
  ip: string;
}

/** What the global setup hands to test files (plain data). */
export interface NetworkDescription {
  prefix: string;
  subnet: string;
  bridgeIp: string;
  hosts: Host[];
}

export async function sh(argv: readonly string[], input?: string): Promise<string> {
  try {
    const child = run(argv[0]!, argv.slice(1), { timeout: 30_000 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout } = await child;
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function shQuiet(argv: readonly string[]): Promise<void> {
  await sh(argv).catch(() => undefined);
}

function stateFile(prefix: string): string {
  return `${STATE_DIR}/${prefix.replace(/-$/, '')}.pid`;
}

async function netnsList(): Promise<string[]> {
  const out = await sh(['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n !== '');
}

/** The first 10.77.N.0/24 that no address of this machine is in. */
async function freeSubnet(): Promise<number> {
  const used = await sh(['ip', '-o', '-4', 'addr', 'show']);
  for (let n = 0; n < 256; n++) if (!used.includes(` 10.77.${n}.`)) return n;
  throw new Error('no free 10.77.N.0/24 subnet on this machine');
}

export class Network {
  readonly prefix: string;
  readonly subnet: string;
  readonly bridgeIp: string;
  readonly hosts = new Map<string, Host>();

  private constructor(d: NetworkDescription) {
    this.prefix = d.prefix;
    this.subnet = d.subnet;
    this.bridgeIp = d.bridgeIp;
    for (const h of d.hosts) this.hosts.set(h.name, h);
  }

  /** A handle on a network another process created (nothing is created). */
  static attach(d: NetworkDescription): Network {
    return new Network(d);
  }

  describe(): NetworkDescription {
    return {
      prefix: this.prefix,
      subnet: this.subnet,
      bridgeIp: this.bridgeIp,
      hosts: [...this.hosts.values()],
    };
  }

  /**
   * Creates the bridge and one namespace per host name. Fails with a clear message when
   * namespaces cannot be created here; whatever was made before the failure is removed.
   */
  static async create(hostNames: readonly string[]): Promise<Network> {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'the fault suite needs root: it creates network namespaces, veths, a bridge and nft rules',
      );
    }
    const prefix = `cx${randomBytes(2).toString('hex')}-`;
    const n = await freeSubnet();
    const net = new Network({
      prefix,
      subnet: `10.77.${n}.0/24`,
      bridgeIp: `10.77.${n}.1`,
      hosts: hostNames.map((name, i) => ({ name, ns: `${prefix}${name}`, ip: `10.77.${n}.${10 + i}` })),
    });
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(stateFile(prefix), String(process.pid));
    try {
      const br = `${prefix}br`;
      await sh(['ip', 'link', 'add', br, 'type', 'bridge']);
      await sh(['ip', 'addr', 'add', `${net.bridgeIp}/24`, 'dev', br]);
      await sh(['ip', 'link', 'set', br, 'up']);
      let i = 0;
      for (const h of net.hosts.values()) {
        const outer = `${prefix}v${i++}`;
        try {
          await sh(['ip', 'netns', 'add', h.ns]);
        } catch (err) {
          throw new Error(
            `cannot create network namespace ${h.ns} (${(err as Error).message}); the fault suite needs ` +
              'root with CAP_SYS_ADMIN and iproute2 (scripts/ensure-netns-tools.sh checks both)',
          );
        }
        await sh(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
        await sh(['ip', 'link', 'set', outer, 'master', br, 'up']);
        await sh(['ip', '-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
        await sh(['ip', '-n', h.ns, 'link', 'set', 'eth0', 'up']);
        await sh(['ip', '-n', h.ns, 'link', 'set', 'lo', 'up']);
      }
    } catch (err) {
      await net.destroy();
      throw err;
    }
    return net;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`no host ${name} in this network`);
    return h;
  }

  /** Prefix that runs a command inside the host's namespace (it execs: the PID stays the command's). */
  launcher(name: string): string[] {
    return ['ip', 'netns', 'exec', this.host(name).ns];
  }

  async #nft(host: Host, script: string): Promise<void> {
    await sh(['ip', 'netns', 'exec', host.ns, 'nft', '-f', '-'], script);
  }

  async #ensureTable(host: Host): Promise<void> {
    await this.#nft(
      host,
      'table inet chaos {\n' +
        '  chain input { type filter hook input priority 0; policy accept; }\n' +
        '  chain output { type filter hook output priority 0; policy accept; }\n' +
        '}\n',
    );
  }

  /**
   * Drops packets between `from` and each of `to`: 'both' ways, only 'out' (from -> to) or only
   * 'in' (to -> from). The rules live in `from`'s namespace.
   */
  async partition(
    from: string,
    to: readonly string[],
    direction: 'both' | 'out' | 'in' = 'both',
  ): Promise<void> {
    const h = this.host(from);
    await this.#ensureTable(h);
    const ips = to.map((t) => this.host(t).ip).join(', ');
    const rules: string[] = [];
    if (direction !== 'in') rules.push(`add rule inet chaos output ip daddr { ${ips} } drop`);
    if (direction !== 'out') rules.push(`add rule inet chaos input ip saddr { ${ips} } drop`);
    await this.#nft(h, `${rules.join('\n')}\n`);
  }

  /** Drops what the host sends to ip:port (TCP), e.g. a service reached through the bridge. */
  async dropPort(from: string, ip: string, port: number): Promise<void> {
    const h = this.host(from);
    await this.#ensureTable(h);
    await this.#nft(h, `add rule inet chaos output ip daddr ${ip} tcp dport ${port} drop\n`);
  }

  /** Drops `percent` % of the host's packets, both ways, at random. */
  async loss(name: string, percent: number): Promise<void> {
    const h = this.host(name);
    await this.#ensureTable(h);
    await this.#nft(
      h,
      `add rule inet chaos output ip daddr ${this.subnet} numgen random mod 100 < ${percent} drop\n` +
        `add rule inet chaos input ip saddr ${this.subnet} numgen random mod 100 < ${percent} drop\n`,
    );
  }

  /** Removes every fault rule of the given hosts (default: all). */
  async heal(names: readonly string[] = [...this.hosts.keys()]): Promise<void> {
    for (const name of names)
      await shQuiet(['ip', 'netns', 'exec', this.host(name).ns, 'nft', 'delete', 'table', 'inet', 'chaos']);
  }

  /** PIDs of the processes running inside the host's namespace. */
  async pids(name: string): Promise<number[]> {
    const out = await sh(['ip', 'netns', 'pids', this.host(name).ns]).catch(() => '');
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  }

  /** Kills whatever still runs in our namespaces, then removes them, the veths and the bridge. */
  async destroy(): Promise<void> {
    await removeByPrefix(this.prefix);
  }
}

async function removeByPrefix(prefix: string): Promise<void> {
  const mine = (await netnsList()).filter((n) => n.startsWith(prefix));
  for (const ns of mine) {
    const out = await sh(['ip', 'netns', 'pids', ns]).catch(() => '');
    for (const pid of out.split('\n').filter((l) => l.trim() !== '')) {
      try {
        process.kill(Number(pid), 'SIGCONT');
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  // A killed process leaves its namespace only once it is reaped: wait for them to go.
  for (let i = 0; i < 100; i++) {
    let left = 0;
    for (const ns of mine)
      left += (await sh(['ip', 'netns', 'pids', ns]).catch(() => '')).trim() === '' ? 0 : 1;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const ns of mine) await shQuiet(['ip', 'netns', 'del', ns]);
  const links = await sh(['ip', '-o', 'link', 'show']).catch(() => '');
  for (const m of links.matchAll(/^\d+: ([^:@\s]+)/gm)) {
    const name = m[1]!;
    if (name.startsWith(prefix) && name !== `${prefix}br`) await shQuiet(['ip', 'link', 'del', name]);
  }
  await shQuiet(['ip', 'link', 'del', `${prefix}br`]);
  rmSync(stateFile(prefix), { force: true });
}

/** Removes the network of every earlier run whose process is gone (a crash, a SIGKILL). */
export async function sweepStale(): Promise<string[]> {
  let files: string[] = [];
  try {
    files = readdirSync(STATE_DIR);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const f of files) {
    const prefix = `${f.replace(/\.pid$/, '')}-`;
    if (!PREFIX_RE.test(prefix)) continue;
    const pid = Number(readFileSync(`${STATE_DIR}/${f}`, 'utf8'));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive) continue;
    await removeByPrefix(prefix);
    swept.push(prefix);
  }
  return swept;
}

/** Names of our kind (any run) still present: namespaces and links. For the leftover check. */
export async function leftovers(prefix: string): Promise<string[]> {
  const ns = (await netnsList()).filter((n) => n.startsWith(prefix));
  const links = [...(await sh(['ip', '-o', 'link', 'show'])).matchAll(/^\d+: ([^:@\s]+)/gm)]
    .map((m) => m[1]!)
    .filter((n) => n.startsWith(prefix));
  return [...ns, ...links];
}
