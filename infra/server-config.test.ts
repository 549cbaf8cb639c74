import { describe, expect, it } from 'vitest';
import { kraftClusterProps, newClusterId, serverProperties } from './kafka-server.js';
import { ensembleCfg, zooCfg } from './zookeeper-server.js';

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('zoo.cfg', () => {
  it('binds 127.0.0.1 on the given port, without the admin server, allowing only srvr and ruok', () => {
    const cfg = parse(zooCfg('/d/zk', 2999));
    expect(cfg.clientPort).toBe('2999');
    expect(cfg.clientPortAddress).toBe('127.0.0.1');
    expect(cfg.dataDir).toBe('/d/zk');
    expect(cfg['admin.enableServer']).toBe('false');
    expect(cfg['4lw.commands.whitelist']).toBe('srvr,ruok');
  });

  it('lets overrides replace a default', () => {
    expect(parse(zooCfg('/d', 1, { tickTime: '500' })).tickTime).toBe('500');
  });

  it('names every member of an ensemble with its peer and election ports, on its own address', () => {
    const members = [
      { id: 1, host: '10.77.0.10' },
      { id: 2, host: '10.77.0.11' },
    ];
    const cfg = parse(zooCfg('/d', 2181, ensembleCfg(members), '10.77.0.10'));
    expect(cfg.clientPortAddress).toBe('10.77.0.10');
    expect(cfg['server.1']).toBe('10.77.0.10:2888:3888');
    expect(cfg['server.2']).toBe('10.77.0.11:2888:3888');
  });
});

describe('Kafka server.properties', () => {
  it('is a single KRaft node on 127.0.0.1 that never creates topics by itself', () => {
    const p = parse(serverProperties('/d/kafka', 19092, 19093));
    expect(p['process.roles']).toBe('broker,controller');
    expect(p.listeners).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(p['advertised.listeners']).toBe('PLAINTEXT://127.0.0.1:19092');
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:19093');
    expect(p['auto.create.topics.enable']).toBe('false');
    expect(p['group.initial.rebalance.delay.ms']).toBe('0');
    expect(p['offsets.topic.replication.factor']).toBe('1');
    expect(p['transaction.state.log.replication.factor']).toBe('1');
    expect(p['transaction.state.log.min.isr']).toBe('1');
  });

  it('as one of three cluster nodes: its own id and address, all voters, replication 3, min ISR 2, no unclean election', () => {
    const members = [1, 2, 3].map((id) => ({ id, host: `10.77.0.${12 + id}` }));
    const p = parse(serverProperties('/d', 9092, 9093, kraftClusterProps(members, 2, 9093), '10.77.0.14'));
    expect(p['node.id']).toBe('2');
    expect(p.listeners).toBe('PLAINTEXT://10.77.0.14:9092,CONTROLLER://10.77.0.14:9093');
    expect(p['controller.quorum.voters']).toBe('1@10.77.0.13:9093,2@10.77.0.14:9093,3@10.77.0.15:9093');
    expect(p['default.replication.factor']).toBe('3');
    expect(p['min.insync.replicas']).toBe('2');
    expect(p['offsets.topic.replication.factor']).toBe('3');
    expect(p['unclean.leader.election.enable']).toBe('false');
  });

  it('makes cluster ids the way Kafka does: 22 base64url characters, never a leading dash', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
