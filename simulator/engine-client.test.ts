import { describe, expect, it } from 'vitest';
import { EngineClient, parseDecisionCounters } from './engine-client.js';

function client(clickBase: string | undefined) {
  return new EngineClient({
    blender: 'http://b',
    billing: 'http://bill',
    clickBase,
    connections: 1,
    timeoutMs: 1_000,
  });
}

describe('the engine client', () => {
  it('sends clicks to --click-base, keeping the token path', async () => {
    const c = client('http://127.0.0.1:9081/');
    expect(c.clickTarget('http://click.example.com:8081/c/AbC-12_x?x=1')).toBe(
      'http://127.0.0.1:9081/c/AbC-12_x?x=1',
    );
    await c.close();
    const same = client(undefined);
    expect(same.clickTarget('http://127.0.0.1:8081/c/t')).toBe('http://127.0.0.1:8081/c/t');
    await same.close();
  });

  it("reads the click filter's decisions by reason from Prometheus text", () => {
    const text = [
      '# HELP imatch_click_decisions_total Click decisions by reason (ok = billable)',
      '# TYPE imatch_click_decisions_total counter',
      'imatch_click_decisions_total{reason="ok"} 120',
      'imatch_click_decisions_total{reason="ip-rate",instance="a"} 7',
      'imatch_click_decisions_total{instance="b",reason="ip-rate"} 3',
      'imatch_click_requests_total{outcome="redirect"} 130',
    ].join('\n');
    expect(parseDecisionCounters(text)).toEqual({ ok: 120, 'ip-rate': 10 });
  });
});
