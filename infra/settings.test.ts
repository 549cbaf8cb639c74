import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { CommonSettings, loadConfig } from '../core/config.js';
import { ImatchError } from '../core/errors.js';
import { expandPath, InfraSettings, infraDirOf } from './settings.js';

const UpConfig = Type.Object({ ...CommonSettings, ...InfraSettings });

describe('infra settings', () => {
  it('defaults to the well-known ports and a cache in the home folder', () => {
    const c = loadConfig(UpConfig, { flags: {}, env: {} });
    expect([c.zkPort, c.kafkaPort, c.kafkaControllerPort]).toEqual([2181, 9092, 9093]);
    expect(expandPath(c.infraCacheDir)).toBe(join(homedir(), '.cache/imatch/infra'));
  });

  it('takes flags over IMATCH_* variables', () => {
    const c = loadConfig(UpConfig, {
      flags: { zkPort: '3181' },
      env: {
        IMATCH_ZK_PORT: '4181',
        IMATCH_KAFKA_PORT: '5092',
        IMATCH_INFRA_JVM_ARGS: '-Xss1m,-XX:+UseSerialGC',
      },
    });
    expect(c.zkPort).toBe(3181);
    expect(c.kafkaPort).toBe(5092);
    expect(c.infraJvmArgs).toEqual(['-Xss1m', '-XX:+UseSerialGC']);
  });

  it('names every bad key at once', () => {
    let err: unknown;
    try {
      loadConfig(UpConfig, {
        flags: { zkPort: 'abc', kafkaPort: '99999999' },
        env: { IMATCH_KAFKA_HEAP: 'lots' },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImatchError);
    const message = (err as ImatchError).message;
    expect(message).toContain('--zk-port');
    expect(message).toContain('--kafka-port');
    expect(message).toContain('IMATCH_KAFKA_HEAP');
    expect((err as ImatchError).details).toHaveLength(3);
  });

  it('expands ~ and resolves relative folders; server data lives in <dataDir>/infra', () => {
    expect(expandPath('~')).toBe(homedir());
    expect(expandPath('~/x/y')).toBe(join(homedir(), 'x/y'));
    expect(expandPath('rel/dir')).toBe(resolve('rel/dir'));
    expect(infraDirOf('/srv/imatch')).toBe('/srv/imatch/infra');
  });
});
