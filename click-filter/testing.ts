// Helpers for the click filter's unit tests and the benchmark: a fixed keyring, token payloads
// and click contexts with sensible defaults. Not used by the service itself.
import { type ClickKeyring, type ClickTokenPayload, createKeyring } from '../core/click-token.js';
import type { ClickContext } from './rules/types.js';
import { compileBlockList, type FilterSettings, settingsFromConfig, type Thresholds } from './settings.js';

export const T0 = Date.UTC(2026, 10, 22, 13, 0, 0);

export function testKeyring(kid = 1, fill = 7): ClickKeyring {
  return createKeyring(new Map([[kid, new Uint8Array(32).fill(fill)]]), kid);
}

export function payload(over: Partial<ClickTokenPayload> = {}): ClickTokenPayload {
  return {
    pvId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    position: 1,
    offerId: 'o1',
    customerId: 'c1',
    bidwordId: 'b1',
    priceMicros: 2_510_000,
    bidMicros: 5_000_000,
    issuedAtMs: T0 - 10_000,
    landingUrl: 'https://shop.example/p/1',
    clientDigest: '0000000000000000',
    ...over,
  };
}

export const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

export function click(over: Partial<ClickContext> = {}): ClickContext {
  const token = over.token ?? payload();
  return {
    token,
    clickId: `${token.pvId}:${token.position}`,
    nowMs: T0,
    ip: '198.51.100.7',
    userAgent: BROWSER_UA,
    userKey: 'u1',
    ...over,
  };
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  tokenMaxAgeMs: 3_600_000,
  dedupWindowMs: 600_000,
  userRateMax: 3,
  userRateWindowMs: 60_000,
  ipRateMax: 5,
  ipRateWindowMs: 60_000,
  minDelayAfterPvMs: 1_000,
};

export function settings(
  over: Partial<Thresholds> = {},
  cidrs: string[] = [],
  userAgents: string[] = [],
): FilterSettings {
  return settingsFromConfig({ ...DEFAULT_THRESHOLDS, ...over }, compileBlockList(cidrs, userAgents));
}
