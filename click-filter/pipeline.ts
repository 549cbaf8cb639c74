// One click, start to decision: verify and decrypt the token (core/click-token.ts), build the
// click's context (click id, user key, user-agent digest), run the rules in their fixed order,
// and produce the decision record and, for a billable click, the settlement record. No I/O here:
// writing the records and answering the request is routes/click.ts's job, so this is the unit
// tested core and what the benchmark's CPU profile is about.
//
// Concurrency: synchronous, event-loop only. The run-time settings are read through a getter on
// every click, so a ZooKeeper change applies from the next click on.
import { createHash } from 'node:crypto';
import { type ClickDecision, clickIdOf, type RejectReason, type Settlement } from '../core/click-records.js';
import {
  type ClickKeyring,
  type ClickTokenFailure,
  type ClickTokenPayload,
  clientDigest,
  decodeClickToken,
} from '../core/click-token.js';
import type { Clock } from '../core/clock.js';
import { buildRules, type ClickContext, type ClickRule, type RuleState } from './rules/index.js';
import type { FilterSettings } from './settings.js';

const ZERO_DIGEST = '0000000000000000';

export type ClickOutcome =
  | { kind: 'bad-token'; reason: Exclude<ClickTokenFailure, 'expired' | 'not-yet-valid'> }
  | {
      kind: 'decided';
      landingUrl: string;
      decision: ClickDecision;
      /** Present only for a billable click. */
      settlement: Settlement | undefined;
    };

export interface PipelineOptions {
  keyring: () => ClickKeyring;
  settings: () => FilterSettings;
  clock: Clock;
  /** This filter instance's id (unique per process run). */
  instance: string;
  state: RuleState;
}

export class ClickPipeline {
  private readonly rules: readonly ClickRule[];
  private seq = 0;
  private readonly uaDigests = new Map<string, string>();

  constructor(private readonly opts: PipelineOptions) {
    this.rules = buildRules(opts.state);
  }

  /** The first rule that rejects, or undefined when the click is billable. */
  judge(click: ClickContext, settings: FilterSettings): RejectReason | undefined {
    for (const rule of this.rules) if (rule.rejects(click, settings)) return rule.reason;
    return undefined;
  }

  handle(token: string, rawIp: string, userAgent: string | undefined): ClickOutcome {
    const nowMs = this.opts.clock.now();
    // An address never needs more (IPv6 with a zone id); a forged X-Forwarded-For may be anything.
    const ip = rawIp.length > 64 ? rawIp.slice(0, 64) : rawIp;
    // No maxAgeMs: expiry is the first rule (its threshold changes at run time, and an expired
    // genuine token must still redirect).
    const decoded = decodeClickToken(this.opts.keyring(), token);
    if (!decoded.ok) {
      if (decoded.reason === 'expired' || decoded.reason === 'not-yet-valid')
        return this.decide(decoded.payload, decoded.kid, nowMs, ip, userAgent);
      return { kind: 'bad-token', reason: decoded.reason };
    }
    return this.decide(decoded.payload, decoded.kid, nowMs, ip, userAgent);
  }

  /** The landing URL of a genuine token (expired or not), undefined otherwise. Records nothing. */
  verifyOnly(token: string): string | undefined {
    const decoded = decodeClickToken(this.opts.keyring(), token);
    return 'payload' in decoded ? decoded.payload.landingUrl : undefined;
  }

  private decide(
    token: ClickTokenPayload,
    kid: number,
    nowMs: number,
    ip: string,
    userAgent: string | undefined,
  ): ClickOutcome {
    const settings = this.opts.settings();
    const clickId = clickIdOf(token.pvId, token.position);
    const userKey =
      token.clientDigest !== ZERO_DIGEST
        ? token.clientDigest
        : ip !== '' || (userAgent ?? '') !== ''
          ? clientDigest(ip, userAgent)
          : '';
    const click: ClickContext = { token, clickId, nowMs, ip, userAgent, userKey };
    const rejected = this.judge(click, settings);
    // A price above the bid is never charged (DESIGN.md); the blender never issues one.
    const priceMicros = Math.min(token.priceMicros, token.bidMicros);
    const decision: ClickDecision = {
      v: 1,
      clickId,
      decisionId: `${this.opts.instance}:${++this.seq}`,
      instance: this.opts.instance,
      billable: rejected === undefined,
      reason: rejected ?? 'ok',
      pvId: token.pvId,
      position: token.position,
      offerId: token.offerId,
      customerId: token.customerId,
      bidwordId: token.bidwordId,
      priceMicros,
      bidMicros: token.bidMicros,
      issuedAtMs: token.issuedAtMs,
      clickedAtMs: nowMs,
      ip,
      uaDigest: this.uaDigest(userAgent),
      userKey,
      kid,
    };
    const settlement: Settlement | undefined =
      rejected === undefined
        ? {
            v: 1,
            clickId,
            customerId: token.customerId,
            offerId: token.offerId,
            bidwordId: token.bidwordId,
            priceMicros,
            clickedAtMs: nowMs,
            instance: this.opts.instance,
          }
        : undefined;
    return { kind: 'decided', landingUrl: token.landingUrl, decision, settlement };
  }

  private uaDigest(ua: string | undefined): string {
    if (ua === undefined || ua === '') return '';
    let d = this.uaDigests.get(ua);
    if (d === undefined) {
      d = createHash('sha256').update(ua).digest('hex').slice(0, 16);
      if (this.uaDigests.size >= 4096) this.uaDigests.clear();
      this.uaDigests.set(ua, d);
    }
    return d;
  }
}
