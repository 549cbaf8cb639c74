// The simulator's HTTP calls to a running engine: ads from the blender, clicks on the click
// filter, spend and totals from billing, decision counters from the click filter's /metrics and
// the learner's stats. One undici Agent for all of them (bounded connections per origin). No
// retries: a failed call is counted by the caller, never hidden.
import { Agent, request } from 'undici';

/** What the simulator reads from one ad of an answer (services/blender/routes/schemas.ts). */
export interface AnswerAd {
  position: number;
  offerId: string;
  customerId: string;
  keyword: string;
  clickUrl: string;
  priceMicros: number;
}

export interface Answer {
  /** Absent on a blender from before experiments (that one ranks by quality). */
  arm?: string;
  ads: AnswerAd[];
}

export interface AdsRequest {
  q: string;
  n: number;
  user: string;
  ip: string;
  userAgent: string;
  region?: string;
  category?: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number | 'error'; detail: string };

/** One customer's spend on a billing day (billing/spend-report.ts), the fields the check uses. */
export interface Spend {
  day: string;
  chargedMicros: number;
  clicks: number;
}

export interface LedgerTotals {
  chargedMicros: number;
  clicks: number;
}

export interface LearnerStats {
  examples: number;
  heldOut: {
    impressions: number;
    clicks: number;
    logLoss: number | null;
    auc: number | null;
    normalizedEntropy: number | null;
    calibration: number | null;
  };
  modelVersion: number;
}

export class EngineClient {
  private readonly agent: Agent;

  constructor(
    private readonly opts: {
      blender: string;
      billing: string;
      /** Replaces the origin of every click URL (undefined: click URLs as they are). */
      clickBase: string | undefined;
      connections: number;
      timeoutMs: number;
    },
  ) {
    this.agent = new Agent({
      connections: opts.connections,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async ads(req: AdsRequest): Promise<Outcome<Answer>> {
    return this.json<Answer>(`${trim(this.opts.blender)}/v1/ads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req),
    });
  }

  /** Opens a click URL as the user's browser would, without following the redirect. */
  async click(clickUrl: string, ip: string, userAgent: string): Promise<number | 'error'> {
    try {
      const res = await request(this.clickTarget(clickUrl), {
        dispatcher: this.agent,
        headers: {
          'user-agent': userAgent,
          // Read only by a click filter started with --trust-proxy true; without it every
          // simulated user clicks from this machine's address (and meets the per-address limit).
          'x-forwarded-for': ip,
          accept: 'text/html',
        },
      });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 'error';
    }
  }

  clickTarget(clickUrl: string): string {
    if (this.opts.clickBase === undefined) return clickUrl;
    const u = new URL(clickUrl);
    const base = new URL(this.opts.clickBase);
    const prefix = base.pathname.replace(/\/$/, '');
    return `${base.origin}${prefix}${u.pathname}${u.search}`;
  }

  /** A customer's spend today (billing's day) or on `day`; undefined when billing knows nothing of it. */
  async spend(customerId: string, day?: string): Promise<Outcome<Spend | undefined>> {
    const q = new URLSearchParams({ customer: customerId, ...(day === undefined ? {} : { day }) });
    const out = await this.json<Spend>(`${trim(this.opts.billing)}/v1/spend?${q}`);
    if (!out.ok && out.status === 404) return { ok: true, value: undefined };
    return out;
  }

  async totals(): Promise<Outcome<LedgerTotals>> {
    return this.json<LedgerTotals>(`${trim(this.opts.billing)}/v1/totals`);
  }

  /** The click filter's decisions by reason (`ok` = billable) from its /metrics; undefined if unreadable. */
  async clickDecisions(): Promise<Record<string, number> | undefined> {
    const base = this.opts.clickBase;
    if (base === undefined) return undefined;
    try {
      const res = await request(`${trim(base)}/metrics`, { dispatcher: this.agent });
      const text = await res.body.text();
      if (res.statusCode !== 200) return undefined;
      return parseDecisionCounters(text);
    } catch {
      return undefined;
    }
  }

  async learnerStats(url: string): Promise<Outcome<LearnerStats>> {
    return this.json<LearnerStats>(`${trim(url)}/v1/learner/stats`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async json<T>(
    url: string,
    init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Outcome<T>> {
    try {
      const res = await request(url, { dispatcher: this.agent, ...init });
      if (res.statusCode !== 200) {
        const detail = (await res.body.text()).slice(0, 300);
        return { ok: false, status: res.statusCode, detail };
      }
      return { ok: true, value: (await res.body.json()) as T };
    } catch (err) {
      return { ok: false, status: 'error', detail: (err as Error).message };
    }
  }
}

/** `imatch_click_decisions_total{reason="ok"} 12` lines -> {ok: 12}, summed over other labels. */
export function parseDecisionCounters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('imatch_click_decisions_total{')) continue;
    const m = /reason="([^"]*)"[^}]*\}\s+([0-9.eE+-]+)/.exec(line);
    if (m === null) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}
