// The fault suite's servers: a 3-node ZooKeeper ensemble and 3 Kafka KRaft nodes (each broker and
// controller; replication factor 3, min.insync.replicas 2, unclean leader election off), every
// one in its own namespace of network.ts, started with infra/'s own launch code (the project's
// jars from the Maven cache) through `ip netns exec`. Any test file can kill -9 a server and start
// it again on the same data, and ask which node leads ZooKeeper or a Kafka partition.
// Concurrency: start/kill calls are independent per server; callers serialize what they need.
import { join } from 'node:path';
import { createKafka, type Kafka } from '../../../core/kafka.js';
import { fetchServers, type ServerJars } from '../../../infra/fetch.js';
import { kafkaDir, kraftClusterProps, startKafka } from '../../../infra/kafka-server.js';
import { type RunningServer, readRecord } from '../../../infra/launch.js';
import { isOurProcess, stopProcess } from '../../../infra/process.js';
import {
  ensembleCfg,
  fourLetterWord,
  startZooKeeper,
  zooKeeperDir,
} from '../../../infra/zookeeper-server.js';
import { KAFKA_HOSTS, ZK_HOSTS } from './hosts.js';
import { Network, type NetworkDescription } from './network.js';

export type ServerHost = (typeof ZK_HOSTS)[number] | (typeof KAFKA_HOSTS)[number];
const ZK_PORT = 2181;
const KAFKA_PORT = 9092;
const CONTROLLER_PORT = 9093;
const JVM = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:CICompilerCount=1'];

/** Everything a test file needs to reach (and fault) the cluster; plain data from the global setup. */
export interface ClusterDescription {
  network: NetworkDescription;
  /** Servers' data and logs: `<dir>/<host>/{zookeeper,kafka}`. */
  dir: string;
  cacheDir: string;
  kafkaClusterId: string;
}

export class Cluster {
  readonly net: Network;
  readonly desc: ClusterDescription;
  #jars: Promise<{ zookeeper: ServerJars; kafka: ServerJars }> | undefined;

  constructor(desc: ClusterDescription) {
    this.desc = desc;
    this.net = Network.attach(desc.network);
  }

  get zkConnect(): string {
    return ZK_HOSTS.map((h) => `${this.net.host(h).ip}:${ZK_PORT}`).join(',');
  }

  get kafkaBrokers(): string[] {
    return KAFKA_HOSTS.map((h) => `${this.net.host(h).ip}:${KAFKA_PORT}`);
  }

  kafka(clientId = 'imatch-chaos'): Kafka {
    return createKafka({ brokers: this.kafkaBrokers, clientId });
  }

  #infraDir(host: ServerHost): string {
    return join(this.desc.dir, host);
  }

  #serverDir(host: ServerHost): string {
    return host.startsWith('zk') ? zooKeeperDir(this.#infraDir(host)) : kafkaDir(this.#infraDir(host));
  }

  /** Starts (or restarts on its data) one server; resolves when it answers. */
  async start(host: ServerHost): Promise<RunningServer> {
    this.#jars ??= fetchServers({ cacheDir: this.desc.cacheDir });
    const jars = await this.#jars;
    const common = {
      infraDir: this.#infraDir(host),
      host: this.net.host(host).ip,
      launcher: this.net.launcher(host),
      jvmArgs: JVM,
      startTimeoutMs: 180_000,
    };
    if (host.startsWith('zk')) {
      const members = ZK_HOSTS.map((h, i) => ({ id: i + 1, host: this.net.host(h).ip }));
      return startZooKeeper({
        ...common,
        jars: jars.zookeeper,
        port: ZK_PORT,
        heap: '96m',
        myId: ZK_HOSTS.indexOf(host as (typeof ZK_HOSTS)[number]) + 1,
        overrides: {
          ...ensembleCfg(members),
          tickTime: '1000',
          initLimit: '10',
          syncLimit: '3',
          minSessionTimeout: '2000',
          '4lw.commands.whitelist': 'srvr,ruok',
        },
      });
    }
    const members = KAFKA_HOSTS.map((h, i) => ({ id: i + 1, host: this.net.host(h).ip }));
    return startKafka({
      ...common,
      jars: jars.kafka,
      port: KAFKA_PORT,
      controllerPort: CONTROLLER_PORT,
      heap: '256m',
      clusterId: this.desc.kafkaClusterId,
      overrides: {
        ...kraftClusterProps(
          members,
          KAFKA_HOSTS.indexOf(host as (typeof KAFKA_HOSTS)[number]) + 1,
          CONTROLLER_PORT,
        ),
        // A dead broker leaves the ISR quickly, so acks=all writes go on with the other two.
        'replica.lag.time.max.ms': '6000',
        'broker.session.timeout.ms': '6000',
        'broker.heartbeat.interval.ms': '1000',
        'num.network.threads': '2',
        'num.io.threads': '2',
        'log.segment.bytes': String(16 * 1024 * 1024),
      },
    });
  }

  async startAll(): Promise<void> {
    await Promise.all([...ZK_HOSTS, ...KAFKA_HOSTS].map((h) => this.start(h)));
  }

  /** The PID of the server's JVM, or null when it is not running. */
  async pid(host: ServerHost): Promise<number | null> {
    const r = await readRecord(this.#serverDir(host));
    return r !== null && isOurProcess(r.pid, r.marker) ? r.pid : null;
  }

  /** kill -9 of one server (its record stays: start() sees the PID is gone and starts afresh). */
  async kill(host: ServerHost): Promise<void> {
    const pid = await this.pid(host);
    if (pid === null) return;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while ((await this.pid(host)) !== null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  }

  /** Stops every server (SIGTERM, then SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...KAFKA_HOSTS, ...ZK_HOSTS].map(async (h) => {
        const r = await readRecord(this.#serverDir(h));
        if (r !== null) await stopProcess(r.pid, r.marker, 5000);
      }),
    );
  }

  /** The ZooKeeper host whose `srvr` says "Mode: leader", if any answers so. */
  async zkLeader(): Promise<(typeof ZK_HOSTS)[number] | undefined> {
    for (const h of ZK_HOSTS) {
      const answer = await fourLetterWord(ZK_PORT, 'srvr', 1000, this.net.host(h).ip);
      if (answer !== null && /^Mode: leader$/m.test(answer)) return h;
    }
    return undefined;
  }

  /** Every ZooKeeper node answers with a mode (leader/follower): the ensemble has a quorum. */
  async zkModes(): Promise<string[]> {
    return Promise.all(
      ZK_HOSTS.map(
        async (h) =>
          /^Mode: (.+)$/m.exec(
            (await fourLetterWord(ZK_PORT, 'srvr', 1000, this.net.host(h).ip)) ?? '',
          )?.[1] ?? 'down',
      ),
    );
  }

  /** The Kafka host leading partition 0 of `topic`, with the partition's in-sync replicas. */
  async partitionLeader(topic: string): Promise<{ leader: (typeof KAFKA_HOSTS)[number]; isr: number[] }> {
    const admin = this.kafka('imatch-chaos-meta').admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const p = meta.topics[0]?.partitions.find((x) => x.partitionId === 0);
      if (p === undefined || p.leader < 1) throw new Error(`${topic} has no leader`);
      return { leader: KAFKA_HOSTS[p.leader - 1]!, isr: p.isr };
    } finally {
      await admin.disconnect();
    }
  }
}
