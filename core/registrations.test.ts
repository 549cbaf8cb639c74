import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseServiceRegistration, serviceRegistration } from './registrations.js';

describe('service registrations', () => {
  it('writes url, id, start time, pid and host', () => {
    const r = serviceRegistration('http://m1:8083', 'm1-8083');
    expect(r).toMatchObject({ url: 'http://m1:8083', id: 'm1-8083', pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(r.startedAt))).toBe(false);
    expect(parseServiceRegistration(JSON.stringify(r))).toEqual(r);
  });

  it('reads only what is a registration', () => {
    expect(parseServiceRegistration(Buffer.from('{"url":"http://a:1","id":"a"}'))).toEqual({
      url: 'http://a:1',
      id: 'a',
    });
    expect(parseServiceRegistration('{"url":"http://a:1"}', 'node-a')).toEqual({
      url: 'http://a:1',
      id: 'node-a',
    });
    for (const bad of ['', 'null', '[]', '{"id":"a"}', '{"url":"ftp://a","id":"a"}', '{"url":"http://a:1"}'])
      expect(parseServiceRegistration(bad), bad).toBeUndefined();
  });
});
