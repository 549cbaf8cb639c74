// What every click rule sees and answers. A rule owns one reason code and says whether it
// rejects a click; stateful rules (duplicates, rate limits) record the click as they look at it.
// The pipeline runs the rules in a fixed order and the first rejection wins (rules/index.ts).
//
// Concurrency: rules are called synchronously from the event loop, one click at a time.
import type { RejectReason } from '../../core/click-records.js';
import type { ClickTokenPayload } from '../../core/click-token.js';
import type { FilterSettings } from '../settings.js';

export interface ClickContext {
  /** The authenticated token payload. */
  readonly token: ClickTokenPayload;
  /** Deterministic click id (pv id + position). */
  readonly clickId: string;
  /** Click time from the injected clock, ms since the epoch. */
  readonly nowMs: number;
  /** Client address ('' when unknown). */
  readonly ip: string;
  /** User-agent header as sent (undefined when absent). */
  readonly userAgent: string | undefined;
  /** Key of the per-user rate limit ('' when there is no way to tell users apart). */
  readonly userKey: string;
}

export interface ClickRule {
  readonly reason: RejectReason;
  /** True when this rule rejects the click. */
  rejects(click: ClickContext, settings: FilterSettings): boolean;
}
