import { describe, expect, it } from 'vitest';
import { newClusterId, serverProperties } from './kafka-server.js';
import { zooCfg } from './zookeeper-server.js';

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

  it('makes cluster ids the way Kafka does: 22 base64url characters, never a leading dash', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
