// vitest globalSetup of the fault suite (vitest.chaos.config.ts): builds the network (one
// namespace per host on a bridge, test/chaos/support/network.ts), starts a 3-node ZooKeeper
// ensemble and 3 Kafka KRaft nodes in their namespaces (support/cluster.ts), and provides their
// description to the scenario files (`inject('chaos')`). Teardown stops every server and removes
// every namespace, veth and the bridge, also when a scenario failed; a run that died without
// teardown is swept at the next start (its owner PID is gone). After teardown it checks that
// nothing of this run is left and fails the run if something is.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { newClusterId } from '../../infra/kafka-server.js';
import { Cluster, type ClusterDescription } from './support/cluster.js';
import { ENGINE_HOSTS, KAFKA_HOSTS, ZK_HOSTS } from './support/hosts.js';
import { leftovers, Network, sh, sweepStale } from './support/network.js';

declare module 'vitest' {
  export interface ProvidedContext {
    chaos: ClusterDescription;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const swept = await sweepStale();
  if (swept.length > 0) say(`removed what earlier runs left behind: ${swept.join(', ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'imatch-chaos-'));
  // Each scenario appends its result line here (support/history.ts); teardown prints them all.
  const results = join(tmpdir(), `imatch-chaos-results-${process.pid}.txt`);
  writeFileSync(results, '');
  process.env.IMATCH_CHAOS_RESULTS = results;
  const net = await Network.create([...ZK_HOSTS, ...KAFKA_HOSTS, ...ENGINE_HOSTS]);
  const desc: ClusterDescription = {
    network: net.describe(),
    dir,
    cacheDir: process.env.IMATCH_INFRA_CACHE_DIR || '~/.cache/imatch/infra',
    kafkaClusterId: newClusterId(),
  };
  const cluster = new Cluster(desc);
  let done = false;
  const teardown = async () => {
    if (done) return;
    done = true;
    const t = Date.now();
    const lines = readFileSync(results, 'utf8').trim();
    rmSync(results, { force: true });
    if (lines !== '') say(`results:\n${lines}`);
    await cluster.stopAll().catch(() => undefined);
    await net.destroy();
    const left = await leftovers(net.prefix);
    const rules = (await sh(['nft', 'list', 'ruleset'])).includes('table inet chaos');
    if (process.env.IMATCH_CHAOS_KEEP_DATA !== '1') await rm(dir, { recursive: true, force: true });
    say(`network ${net.prefix}* removed in ${Date.now() - t} ms`);
    if (left.length > 0 || rules) {
      throw new Error(
        `the fault suite left behind: ${[...left, ...(rules ? ['nft table inet chaos'] : [])].join(', ')}`,
      );
    }
  };
  const onSignal = () => void teardown().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await cluster.startAll();
    const modes = (await cluster.zkModes()).sort().join(',');
    if (modes !== 'follower,follower,leader')
      throw new Error(`ZooKeeper is not one ensemble: modes ${modes}`);
  } catch (err) {
    say(`could not start the cluster; logs in ${dir}`);
    process.env.IMATCH_CHAOS_KEEP_DATA = '1';
    await teardown();
    throw err;
  }
  project.provide('chaos', desc);
  say(
    `network ${desc.network.subnet} (${desc.network.hosts.length} namespaces ${net.prefix}*), ZooKeeper ` +
      `${cluster.zkConnect} and Kafka ${cluster.kafkaBrokers.join(',')} ready in ${Date.now() - started} ms`,
  );
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown();
  };
}

function say(line: string): void {
  process.stderr.write(`[chaos] ${line}\n`);
}
