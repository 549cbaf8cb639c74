import { describe, expect, it } from 'vitest';
import { Balancer } from './balancer.js';
import { registration, stubFactory } from './test-support.js';

function setup(replicasPerColumn: number[], now = { t: 1_000 }) {
  const stubs = stubFactory();
  const balancer = new Balancer({
    clientFactory: stubs.factory,
    backoffMs: 100,
    maxBackoffMs: 350,
    now: () => now.t,
  });
  balancer.setReplicas(
    replicasPerColumn.map((count, c) => Array.from({ length: count }, (_, i) => registration(c, `r${i}`))),
  );
  return { balancer, stubs, now };
}

describe('balancer', () => {
  it('picks the replica with the fewest outstanding requests', () => {
    const { balancer } = setup([3]);
    const [r0, r1, r2] = balancer.replicas(0);
    balancer.begin(r0!);
    balancer.begin(r0!);
    balancer.begin(r2!);
    expect(balancer.pick(0)).toBe(r1);
  });

  it('breaks ties round robin', () => {
    const { balancer } = setup([3]);
    const picks = Array.from({ length: 6 }, () => balancer.pick(0)!.id);
    expect(picks).toEqual(['r0', 'r1', 'r2', 'r0', 'r1', 'r2']);
  });

  it('never picks an excluded replica (the retry goes elsewhere)', () => {
    const { balancer } = setup([2]);
    const [r0, r1] = balancer.replicas(0);
    for (let i = 0; i < 4; i++) expect(balancer.pick(0, r0)).toBe(r1);
  });

  it('keeps a failed replica out for its backoff, then lets it back in', () => {
    const { balancer, now } = setup([2]);
    const [r0, r1] = balancer.replicas(0);
    balancer.begin(r0!);
    balancer.end(r0!, 'error');
    for (let i = 0; i < 4; i++) expect(balancer.pick(0)).toBe(r1);
    expect(balancer.healthyCount(0)).toBe(1);
    now.t += 100;
    expect(balancer.healthyCount(0)).toBe(2);
  });

  it('doubles the backoff on consecutive failures up to the cap, and resets it on success', () => {
    const { balancer, now } = setup([1]);
    const [r] = balancer.replicas(0);
    const fail = () => {
      balancer.begin(r!);
      balancer.end(r!, 'error');
      return r!.unhealthyUntil - now.t;
    };
    expect(fail()).toBe(100);
    now.t += 100;
    expect(fail()).toBe(200);
    now.t += 200;
    expect(fail()).toBe(350);
    now.t += 350;
    balancer.begin(r!);
    balancer.end(r!, 'ok');
    expect(fail()).toBe(100);
  });

  it('counts failures of requests that were in flight together as one episode', () => {
    const { balancer, now } = setup([1]);
    const [r] = balancer.replicas(0);
    for (let i = 0; i < 5; i++) balancer.begin(r!);
    for (let i = 0; i < 5; i++) balancer.end(r!, 'error');
    expect(r!.failures).toBe(1);
    expect(r!.unhealthyUntil - now.t).toBe(100);
    expect(r!.outstanding).toBe(0);
  });

  it('ejects a replica only after three timeouts in a row (slow is not dead)', () => {
    const { balancer } = setup([2]);
    const [r] = balancer.replicas(0);
    const timeout = () => {
      balancer.begin(r!);
      balancer.end(r!, 'timeout');
    };
    timeout();
    timeout();
    balancer.begin(r!);
    balancer.end(r!, 'ok');
    timeout();
    timeout();
    expect(balancer.healthyCount(0)).toBe(2);
    timeout();
    expect(balancer.healthyCount(0)).toBe(1);
  });

  it('never ejects the last healthy replica of a column for timeouts, but does for errors', () => {
    const { balancer } = setup([1]);
    const [r] = balancer.replicas(0);
    for (let i = 0; i < 10; i++) {
      balancer.begin(r!);
      balancer.end(r!, 'timeout');
    }
    expect(balancer.healthyCount(0)).toBe(1);
    balancer.begin(r!);
    balancer.end(r!, 'error');
    expect(balancer.healthyCount(0)).toBe(0);
  });

  it('has nothing to pick in a column whose replicas all failed', () => {
    const { balancer } = setup([2, 1]);
    for (const r of balancer.replicas(0)) {
      balancer.begin(r);
      balancer.end(r, 'error');
    }
    expect(balancer.pick(0)).toBeUndefined();
    expect(balancer.pick(1)).toBeDefined();
  });

  it('keeps known replicas (client, counters, health) across discovery updates and closes gone ones', () => {
    const { balancer, stubs } = setup([2]);
    const [r0, r1] = balancer.replicas(0);
    balancer.begin(r0!);
    balancer.setReplicas([[registration(0, 'r0'), registration(0, 'r2')]]);
    const [k0, k2] = balancer.replicas(0);
    expect(k0).toBe(r0);
    expect(k0!.outstanding).toBe(1);
    expect(k2!.id).toBe('r2');
    expect(r1!.client).toBe(stubs.clients.get('0/r1'));
    expect(stubs.clients.get('0/r1')!.closed).toBe(true);
    expect(stubs.clients.get('0/r0')!.closed).toBe(false);
  });
});
