import { hostname } from 'node:os';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { silentLogger } from './logger.js';
import { advertisedHost, defaultId, gracefulStop, urlOf } from './service-runtime.js';
import type { Registration } from './zookeeper.js';

describe('service runtime', () => {
  it('never advertises a wildcard listen address', () => {
    expect(advertisedHost('0.0.0.0')).toBe(hostname());
    expect(advertisedHost('::')).toBe(hostname());
    expect(advertisedHost('127.0.0.1')).toBe('127.0.0.1');
    expect(advertisedHost('0.0.0.0', 'dispatch-1.internal')).toBe('dispatch-1.internal');
    expect(urlOf('::1', 8082)).toBe('http://[::1]:8082');
    expect(defaultId('fe80::1', 80)).toBe('fe80__1-80');
  });

  it('stops in order, once, and goes on past a failing step', async () => {
    const order: string[] = [];
    const app = Fastify();
    app.addHook('onClose', async () => {
      order.push('app closed');
    });
    const registration: Registration = {
      path: '/x',
      update: async () => undefined,
      unregister: async () => {
        order.push('deregistered');
      },
    };
    const stop = gracefulStop('test', silentLogger(), app, 1000, {
      registration: () => registration,
      beforeStop: [['leave', () => order.push('left the election')]],
      afterStop: [
        [
          'drain',
          () => {
            throw new Error('broken');
          },
        ],
        ['disconnect', async () => order.push('disconnected')],
      ],
    });
    await Promise.all([stop(), stop()]);
    await stop();
    expect(order).toEqual(['left the election', 'deregistered', 'app closed', 'disconnected']);
  });
});
