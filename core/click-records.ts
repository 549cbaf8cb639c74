// The records of the click and billing streams, defined once for their producers and consumers:
//   clicks topic      ClickDecision   every click-filter decision, billable or not (click-filter ->
//                                     hourly correction, reporting)
//   settlement topic  Settlement      one per billable decision (click-filter -> billing)
//   corrections topic Refund          hindsight refunds (hourly correction -> billing)
// All three are JSON, keyed by click id, with the Kafka record timestamp set to the click time (so
// the correction job can find an hour by timestamp). Money is integer micros.
//
// Click ids are deterministic: `${pvId}:${position}`, so the same click seen by two filter
// instances has the same id, and billing charges it once (docs/clicks-and-billing.md).
import { type Static, Type } from '@sinclair/typebox';

export const CLICK_RECORD_VERSION = 1;

/** Why a click is not billable; `ok` when it is. Fixed order: the first rule that rejects wins. */
export const CLICK_REASONS = [
  'ok',
  'expired',
  'duplicate',
  'user-rate',
  'ip-rate',
  'bot',
  'no-user-agent',
  'blocked-ip',
  'blocked-user-agent',
  'too-fast',
] as const;
export type ClickReason = (typeof CLICK_REASONS)[number];
export type RejectReason = Exclude<ClickReason, 'ok'>;

/** Why the hourly correction refunds a billed click. */
export const REFUND_REASONS = ['duplicate', 'burst-ip', 'burst-user', 'blocked-ip'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** The deterministic click id of the ad at `position` on page view `pvId`. */
export function clickIdOf(pvId: string, position: number): string {
  return `${pvId}:${position}`;
}

const Micros = Type.Integer({ minimum: 0 });
const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const ClickDecision = Type.Object({
  v: Type.Literal(CLICK_RECORD_VERSION),
  clickId: Str(80),
  /** Unique per decision: `${instance}:${sequence}` (tells a producer retry from a second decision). */
  decisionId: Str(200),
  /** Filter instance that decided. */
  instance: Str(120),
  billable: Type.Boolean(),
  reason: Type.Union(CLICK_REASONS.map((r) => Type.Literal(r))),
  pvId: Str(64),
  position: Type.Integer({ minimum: 1, maximum: 255 }),
  offerId: Str(64),
  customerId: Str(64),
  bidwordId: Str(64),
  /** What this click costs when billable (the token's price, never above the bid). */
  priceMicros: Micros,
  bidMicros: Micros,
  issuedAtMs: Type.Integer({ minimum: 0 }),
  clickedAtMs: Type.Integer({ minimum: 0 }),
  /** Client address as the filter saw it ('' when unknown). */
  ip: Type.String({ maxLength: 64 }),
  /** First 16 hex characters of sha256(user agent); '' when there was no user agent. */
  uaDigest: Type.String({ maxLength: 16 }),
  /** The key the per-user rate limit counted this click under. */
  userKey: Type.String({ maxLength: 64 }),
  /** Key id of the token. */
  kid: Type.Integer({ minimum: 0, maximum: 255 }),
});
export type ClickDecision = Static<typeof ClickDecision>;

export const Settlement = Type.Object({
  v: Type.Literal(CLICK_RECORD_VERSION),
  clickId: Str(80),
  customerId: Str(64),
  offerId: Str(64),
  bidwordId: Str(64),
  priceMicros: Micros,
  clickedAtMs: Type.Integer({ minimum: 0 }),
  instance: Str(120),
});
export type Settlement = Static<typeof Settlement>;

export const Refund = Type.Object({
  v: Type.Literal(CLICK_RECORD_VERSION),
  /** Deterministic: `rf:<clickId>` for a refund of the click, `dup:<clickId>:<decisionId>` for a duplicate. */
  refundId: Str(300),
  clickId: Str(80),
  customerId: Str(64),
  amountMicros: Micros,
  reason: Type.Union(REFUND_REASONS.map((r) => Type.Literal(r))),
  /** The hour of the clicks this refund corrects, UTC, `YYYY-MM-DDTHH`. */
  hour: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}$' }),
  createdAtMs: Type.Integer({ minimum: 0 }),
});
export type Refund = Static<typeof Refund>;
