import { describe, expect, it, vi } from 'vitest';
import { Balancer } from './balancer.js';
import { Fanout, type FanoutObserver } from './fanout.js';
import { hit, registration, stubFactory } from './test-support.js';

const BODY = JSON.stringify({ query: 'red shoes', k: 5 });

function setup(
  replicasPerColumn: number[],
  options: { attemptTimeoutMs?: number; minRetryMs?: number } = {},
) {
  const stubs = stubFactory(replicasPerColumn.map((_, c) => [hit(`o${c}`, `C${c}`, 10 + c)]));
  const balancer = new Balancer({ clientFactory: stubs.factory, backoffMs: 1_000, maxBackoffMs: 1_000 });
  balancer.setReplicas(
    replicasPerColumn.map((count, c) => Array.from({ length: count }, (_, i) => registration(c, `r${i}`))),
  );
  const events: string[] = [];
  const observer: FanoutObserver = {
    attempt: (c, r, _s, failure) => events.push(`attempt ${c}/${r.id} ${failure ?? 'ok'}`),
    retry: (c) => events.push(`retry ${c}`),
    skipped: (c, reason) => events.push(`skipped ${c} ${reason}`),
  };
  const fanout = new Fanout(
    balancer,
    { attemptTimeoutMs: options.attemptTimeoutMs ?? 1_000, minRetryMs: options.minRetryMs ?? 1 },
    observer,
  );
  const client = (c: number, r: number) => stubs.clients.get(`${c}/r${r}`)!;
  return { balancer, fanout, events, client };
}

describe('fan-out', () => {
  it('asks one replica of every column', async () => {
    const { fanout, client } = setup([2, 2]);
    const out = await fanout.askAll([0, 1], BODY, Date.now() + 1_000);
    expect(out.map((o) => o.hits?.map((h) => h.offerId))).toEqual([['o0'], ['o1']]);
    const asked = [0, 1].map((c) => client(c, 0).requests.length + client(c, 1).requests.length);
    expect(asked).toEqual([1, 1]);
  });

  it('retries an error once on another replica of the same column', async () => {
    const { fanout, client, events } = setup([2]);
    client(0, 0).mode = 'error';
    const out = await fanout.askColumn(0, BODY, Date.now() + 1_000);
    expect(out).toMatchObject({ column: 0, attempts: 2 });
    expect(out.hits?.map((h) => h.offerId)).toEqual(['o0']);
    expect(events).toEqual(['attempt 0/r0 error', 'retry 0', 'attempt 0/r1 ok']);
  });

  it('retries a timed-out attempt on another replica when the deadline allows', async () => {
    const { fanout, client, events } = setup([2], { attemptTimeoutMs: 20 });
    client(0, 0).mode = 'hang';
    const out = await fanout.askColumn(0, BODY, Date.now() + 5_000);
    expect(out.hits?.map((h) => h.offerId)).toEqual(['o0']);
    expect(events).toEqual(['attempt 0/r0 timeout', 'retry 0', 'attempt 0/r1 ok']);
  });

  it('lets a lone replica use the whole deadline: a busy column is late, not missing', async () => {
    const { fanout, client, events } = setup([1], { attemptTimeoutMs: 20 });
    client(0, 0).mode = 'slow';
    client(0, 0).slowMs = 60;
    const out = await fanout.askColumn(0, BODY, Date.now() + 1_000);
    expect(out.hits?.map((h) => h.offerId)).toEqual(['o0']);
    expect(events).toEqual(['attempt 0/r0 ok']);
  });

  it('stretches the attempt timeout to a multiple of the column p99 when every replica is slow', async () => {
    const { fanout, client, events } = setup([2], { attemptTimeoutMs: 20 });
    for (let i = 0; i < 40; i++) fanout.timeouts.observe(0, 30); // the column has been answering in 30 ms
    client(0, 0).mode = 'slow';
    client(0, 0).slowMs = 60;
    client(0, 1).mode = 'slow';
    client(0, 1).slowMs = 60;
    const out = await fanout.askColumn(0, BODY, Date.now() + 1_000);
    expect(out.hits?.map((h) => h.offerId)).toEqual(['o0']);
    expect(events).toEqual(['attempt 0/r0 ok']);
  });

  it('does not retry when too little of the deadline is left', async () => {
    const { fanout, client, events } = setup([2], { attemptTimeoutMs: 1_000, minRetryMs: 10_000 });
    client(0, 0).mode = 'error';
    const out = await fanout.askColumn(0, BODY, Date.now() + 1_000);
    expect(out).toEqual({ column: 0, failure: 'error', attempts: 1 });
    expect(client(0, 1).requests).toHaveLength(0);
    expect(events).toEqual(['attempt 0/r0 error', 'skipped 0 error']);
  });

  it('retries only once: a column whose two replicas both fail is skipped', async () => {
    const { fanout, client, events } = setup([3, 1]);
    for (let r = 0; r < 3; r++) client(0, r).mode = 'error';
    const out = await fanout.askAll([0, 1], BODY, Date.now() + 1_000);
    expect(out[0]).toEqual({ column: 0, failure: 'error', attempts: 2 });
    expect(out[1]!.hits).toHaveLength(1);
    expect(events.filter((e) => e.startsWith('attempt 0/'))).toHaveLength(2);
    expect(events).toContain('skipped 0 error');
  });

  it('skips a column with no healthy replica without asking anyone', async () => {
    const { fanout, balancer, client, events } = setup([2, 1]);
    for (const r of balancer.replicas(0)) {
      balancer.begin(r);
      balancer.end(r, 'error');
    }
    const out = await fanout.askAll([0, 1], BODY, Date.now() + 1_000);
    expect(out[0]).toEqual({ column: 0, failure: 'no-replica', attempts: 0 });
    expect(client(0, 0).requests.length + client(0, 1).requests.length).toBe(0);
    expect(events).toContain('skipped 0 no-replica');
  });

  it('counts a request the caller gave up on as outstanding until it is over on the wire', async () => {
    const { fanout, balancer, client } = setup([2], { attemptTimeoutMs: 10 });
    client(0, 0).mode = 'late';
    client(0, 0).lateMs = 300;
    const out = await fanout.askColumn(0, BODY, Date.now() + 5_000);
    expect(out).toMatchObject({ attempts: 2, hits: [{ offerId: 'o0' }] });
    const [r0, r1] = balancer.replicas(0);
    expect(r0!.outstanding).toBe(1);
    expect(r1!.outstanding).toBe(0);
    expect(balancer.pick(0)).toBe(r1);
    expect(balancer.pick(0)).toBe(r1);
    await vi.waitFor(() => expect(r0!.outstanding).toBe(0), { timeout: 2_000 });
  });

  it('sends the next queries away from a replica that failed (backoff)', async () => {
    const { fanout, client } = setup([2]);
    client(0, 0).mode = 'error';
    await fanout.askColumn(0, BODY, Date.now() + 1_000);
    for (let i = 0; i < 5; i++) await fanout.askColumn(0, BODY, Date.now() + 1_000);
    expect(client(0, 0).requests).toHaveLength(1);
    expect(client(0, 1).requests).toHaveLength(6);
  });
});
