// Kafka record values as the blender and the click filter write them, for the reports benchmarks
// (bench/reports-ingest.ts, bench/reports-lag.ts): a page view with `ads` ads, and for a click on
// its first ad a click decision (a quarter invalid, reason bot) and, when billable, a settlement.
// Customer c0 is the busiest (every page view shows it first): its reports cover the most rows.
export class ReportRecords {
  private readonly keywords = Array.from({ length: 500 }, (_, i) => `keyword ${i}`);

  constructor(
    private readonly customers: number,
    private readonly ads: number,
  ) {}

  customerOf(pvNo: number, k: number): string {
    return k === 0 ? 'c0' : `c${1 + ((pvNo * 7 + k * 13) % (this.customers - 1))}`;
  }

  pv(pvNo: number, timeMs: number, pvId: string): Buffer {
    const q = this.keywords[pvNo % this.keywords.length]!;
    return Buffer.from(
      JSON.stringify({
        v: 1,
        pvId,
        timeMs,
        time: new Date(timeMs).toISOString(),
        query: { raw: q, normalized: q, rewritten: q, synonyms: [], stopwords: [] },
        n: this.ads,
        region: 'DE',
        user: { clientDigest: '0000000000000000' },
        coverage: { columns: 2, answered: 2 },
        degraded: false,
        pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
        ads: Array.from({ length: this.ads }, (_, k) => ({
          position: k + 1,
          offerId: `o${pvNo % 50_000}-${k}`,
          customerId: this.customerOf(pvNo, k),
          bidwordId: `b${pvNo % 20_000}-${k}`,
          keyword: q,
          matchType: 'exact',
          bidMicros: 1_000_000,
          qualityBp: 5000,
          score: 1,
          priceMicros: 200_000 + k * 10_000,
        })),
        tookMs: 2,
      }),
    );
  }

  click(
    pvNo: number,
    timeMs: number,
    pvId: string,
    clickDelayMs = 3_000,
  ): { decision: Buffer; settlement?: Buffer } {
    const billable = pvNo % 4 !== 0;
    const customerId = this.customerOf(pvNo, 0);
    const clickId = `${pvId}:1`;
    const clickedAtMs = timeMs + clickDelayMs;
    const decision = Buffer.from(
      JSON.stringify({
        v: 1,
        clickId,
        decisionId: `bench:${pvId}`,
        instance: 'bench',
        billable,
        reason: billable ? 'ok' : 'bot',
        pvId,
        position: 1,
        offerId: `o${pvNo % 50_000}-0`,
        customerId,
        bidwordId: `b${pvNo % 20_000}-0`,
        priceMicros: 200_000,
        bidMicros: 1_000_000,
        issuedAtMs: timeMs,
        clickedAtMs,
        ip: '192.0.2.1',
        uaDigest: '0123456789abcdef',
        userKey: 'u',
        kid: 1,
      }),
    );
    if (!billable) return { decision };
    const settlement = Buffer.from(
      JSON.stringify({
        v: 1,
        clickId,
        customerId,
        offerId: `o${pvNo % 50_000}-0`,
        bidwordId: `b${pvNo % 20_000}-0`,
        priceMicros: 200_000,
        clickedAtMs,
        instance: 'bench',
      }),
    );
    return { decision, settlement };
  }
}
