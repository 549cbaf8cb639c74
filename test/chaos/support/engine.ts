// The engine's processes in the fault suite: `node dist/bin/imatch.js <service>` run through
// `ip netns exec <host>` (test/helpers/spawn.ts tracks and stops them), listening on their host's
// own address, with one ZooKeeper root and one set of topics per scenario (created here with
// replication factor 3 on the 3-broker cluster). pause()/resume() are SIGSTOP/SIGCONT.
// Concurrency: a scenario starts and faults its services one call at a time.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTopics } from '../../../core/kafka.js';
import { uniqueName } from '../../helpers/names.js';
import { CLI, type ServiceProcess, spawnService } from '../../helpers/spawn.js';
import type { Cluster } from './cluster.js';
import type { EngineHost } from './hosts.js';

export interface Topics {
  changes: string;
  pv: string;
  clicks: string;
  settlement: string;
  corrections: string;
}

export interface Service {
  host: EngineHost;
  proc: ServiceProcess;
  url: string;
  /** The flags it was started with (to start it again the same way). */
  args: string[];
}

export const SECRET = `chaos-${uniqueName('secret')}`;
/** The click-token key blenders sign with and click filters verify with. */
export const CLICK_SECRET = randomBytes(32);
export const CLICK_KEYS = `1:${CLICK_SECRET.toString('base64url')}`;

export class Engine {
  readonly cluster: Cluster;
  readonly zkRoot: string;
  readonly topics: Topics;
  readonly dataDir: string;

  readonly scenario: string;

  constructor(cluster: Cluster, scenario: string, dataDir: string) {
    this.cluster = cluster;
    this.scenario = scenario;
    this.zkRoot = `/imatch-chaos/${uniqueName(scenario)}`;
    const t = (kind: string) => `chaos.${uniqueName(`${scenario}-${kind}`)}`;
    this.topics = {
      changes: t('changes'),
      pv: t('pv'),
      clicks: t('clicks'),
      settlement: t('settlement'),
      corrections: t('corrections'),
    };
    this.dataDir = dataDir;
  }

  /** Creates this scenario's topics: one partition each, replication factor 3. */
  async createTopics(): Promise<void> {
    await ensureTopics(this.cluster.kafka(), Object.values(this.topics), {
      replicationFactor: 3,
      timeoutMs: 60_000,
    });
  }

  common(withKafka = true): string[] {
    return [
      '--zk-connect',
      this.cluster.zkConnect,
      '--zk-root',
      this.zkRoot,
      '--zk-session-timeout-ms',
      '4000',
      ...(withKafka
        ? [
            '--kafka-brokers',
            this.cluster.kafkaBrokers.join(','),
            '--topic-changes',
            this.topics.changes,
            '--topic-pv',
            this.topics.pv,
            '--topic-clicks',
            this.topics.clicks,
            '--topic-settlement',
            this.topics.settlement,
            '--topic-corrections',
            this.topics.corrections,
          ]
        : []),
    ];
  }

  readonly #spawned: { host: string; proc: ServiceProcess }[] = [];

  /**
   * Writes every process's output to `<tmpdir>/imatch-chaos-logs/<scenario>/<host>-<n>.log`
   * (kept after the run, replaced by the next one), for reading a failure afterwards.
   */
  async saveLogs(): Promise<string> {
    const dir = join(tmpdir(), 'imatch-chaos-logs', this.scenario);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    let n = 0;
    for (const { host, proc } of this.#spawned)
      await writeFile(join(dir, `${host}-${n++}.log`), proc.output());
    return dir;
  }

  /** Spawns `imatch <args>` inside the host's namespace. */
  spawn(host: EngineHost, args: string[], name = host): ServiceProcess {
    const proc = spawnService(
      'ip',
      ['netns', 'exec', this.cluster.net.host(host).ns, process.execPath, CLI, ...args],
      {
        name,
        env: { IMATCH_LOG_PRETTY: '0', IMATCH_SECRET: SECRET },
      },
    );
    this.#spawned.push({ host, proc });
    return proc;
  }

  /** Starts a service listening on its host's address and waits for its "listening" line. */
  async start(
    host: EngineHost,
    service: string,
    args: string[],
    port: number,
    advertise = this.cluster.net.host(host).ip,
  ): Promise<Service> {
    const ip = this.cluster.net.host(host).ip;
    const dataDir = join(this.dataDir, host);
    await mkdir(dataDir, { recursive: true });
    const full = [
      service,
      '--host',
      ip,
      '--port',
      String(port),
      '--advertise-host',
      advertise,
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      ...args,
    ];
    const proc = this.spawn(host, full);
    const m = await proc.waitForOutput(
      new RegExp(`"url":"(http[^"]+)"[^\\n]*"msg":"${service} listening"`),
      120_000,
    );
    return { host, proc, url: m[1]!, args: full };
  }

  /** Starts the same service again on its host (after a kill). */
  async restart(s: Service): Promise<Service> {
    const proc = this.spawn(s.host, s.args);
    const service = s.args[0]!;
    const m = await proc.waitForOutput(
      new RegExp(`"url":"(http[^"]+)"[^\\n]*"msg":"${service} listening"`),
      120_000,
    );
    return { ...s, proc, url: m[1]! };
  }

  dispatch(host: 'dispatch1' | 'dispatch2'): Promise<Service> {
    return this.start(host, 'dispatch', [...this.common(), '--id', host], 8082);
  }

  /**
   * A searcher replica. `isupdate: false` serves the published version only (no Kafka, no WAL);
   * `port`/`advertise` put it behind something else (a delay link on the bridge address);
   * `framesPort` fixes its frame RPC port (the merger calls /search there at the advertised host).
   */
  searcher(
    host: EngineHost,
    column: number,
    replica: string,
    o: { isupdate?: boolean; port?: number; advertise?: string; framesPort?: number } = {},
  ): Promise<Service> {
    return this.start(
      host,
      'searcher',
      [
        ...this.common(),
        '--column',
        String(column),
        '--replica',
        replica,
        '--isupdate-batch',
        '20',
        '--debug-endpoints',
        'true',
        '--isupdate',
        String(o.isupdate ?? true),
        ...(o.framesPort === undefined ? [] : ['--frames-port', String(o.framesPort)]),
      ],
      o.port ?? 8090,
      o.advertise,
    );
  }

  merger(extra: string[] = []): Promise<Service> {
    return this.start('merger', 'merger', [...this.common(false), '--id', 'merger', ...extra], 8083);
  }

  blender(mergerUrl: string, extra: string[] = []): Promise<Service> {
    const click = this.cluster.net.host('click').ip;
    return this.start(
      'blender',
      'blender',
      [
        ...this.common(),
        '--id',
        'blender',
        '--merger-url',
        mergerUrl,
        '--click-base-url',
        `http://${click}:8081`,
        '--click-keys',
        CLICK_KEYS,
        '--click-key-id',
        '1',
        ...extra,
      ],
      8080,
    );
  }
}

export function pause(s: Service): void {
  process.kill(s.proc.pid, 'SIGSTOP');
}

export function resume(s: Service): void {
  process.kill(s.proc.pid, 'SIGCONT');
}
