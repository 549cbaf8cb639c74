// The click filter's run-time settings: thresholds and block lists. Defaults come from the
// service config (flags / IMATCH_* variables); the JSON in ZooKeeper at
// `zkPaths(root).configClickFilter` overrides any of them and is re-read on every change, so an
// operator can tighten a limit or block a range without a restart. A malformed document is
// refused as a whole (the previous settings stay) and reported, never half-applied.
//
// Concurrency: FilterSettings objects are immutable; the pipeline reads the current one per click
// and the watcher swaps the reference (one thread, so a click sees one consistent version).
import { type Static, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import ipaddr from 'ipaddr.js';

/** The ZooKeeper document (every key optional: absent keys keep the configured default). */
export const ClickFilterDocument = Type.Object(
  {
    tokenMaxAgeMs: Type.Optional(Type.Integer({ minimum: 1 })),
    dedupWindowMs: Type.Optional(Type.Integer({ minimum: 0 })),
    userRateMax: Type.Optional(Type.Integer({ minimum: 0 })),
    userRateWindowMs: Type.Optional(Type.Integer({ minimum: 1 })),
    ipRateMax: Type.Optional(Type.Integer({ minimum: 0 })),
    ipRateWindowMs: Type.Optional(Type.Integer({ minimum: 1 })),
    minDelayAfterPvMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** CIDR ranges ("203.0.113.0/24", "2001:db8::/32") or single addresses. */
    blockedCidrs: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 })),
    /** Regular expressions (case-insensitive) matched against the user agent. */
    blockedUserAgents: Type.Optional(Type.Array(Type.String({ maxLength: 500 }), { maxItems: 1_000 })),
  },
  { additionalProperties: false },
);
export type ClickFilterDocument = Static<typeof ClickFilterDocument>;

/** Thresholds: 0 for a limit means "rule off". */
export interface Thresholds {
  tokenMaxAgeMs: number;
  dedupWindowMs: number;
  userRateMax: number;
  userRateWindowMs: number;
  ipRateMax: number;
  ipRateWindowMs: number;
  minDelayAfterPvMs: number;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A compiled block list: CIDR ranges by address family, user-agent patterns as one regex. */
export interface BlockList {
  readonly cidrs: readonly string[];
  readonly v4: readonly Range[];
  readonly v6: readonly Range[];
  readonly userAgentPatterns: readonly string[];
  readonly userAgentRegex: RegExp | undefined;
}

export interface FilterSettings extends Thresholds {
  readonly blockList: BlockList;
  /** Where these settings came from: 'config' or 'zookeeper v<version>'. */
  readonly source: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateDocument = ajv.compile(ClickFilterDocument);

/** Compiles CIDRs and UA patterns; throws RangeError naming every bad entry. */
export function compileBlockList(cidrs: readonly string[], userAgents: readonly string[]): BlockList {
  const problems: string[] = [];
  const v4: Range[] = [];
  const v6: Range[] = [];
  for (const text of cidrs) {
    try {
      const range: Range = text.includes('/')
        ? ipaddr.parseCIDR(text.trim())
        : (() => {
            const a = ipaddr.parse(text.trim());
            return [a, a.kind() === 'ipv4' ? 32 : 128] as Range;
          })();
      const [addr, bits] = range;
      // An IPv4-mapped IPv6 range is stored as the IPv4 range it means.
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
        v4.push([(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]);
      else if (addr.kind() === 'ipv4') v4.push(range);
      else v6.push(range);
    } catch {
      problems.push(`blockedCidrs: ${JSON.stringify(text)} is not an address or CIDR range`);
    }
  }
  let userAgentRegex: RegExp | undefined;
  for (const p of userAgents) {
    try {
      new RegExp(p, 'i');
    } catch {
      problems.push(`blockedUserAgents: ${JSON.stringify(p)} is not a valid regular expression`);
    }
  }
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  if (userAgents.length > 0) userAgentRegex = new RegExp(userAgents.map((p) => `(?:${p})`).join('|'), 'i');
  return Object.freeze({
    cidrs: Object.freeze([...cidrs]),
    v4: Object.freeze(v4),
    v6: Object.freeze(v6),
    userAgentPatterns: Object.freeze([...userAgents]),
    userAgentRegex,
  });
}

export const EMPTY_BLOCK_LIST: BlockList = compileBlockList([], []);

export function settingsFromConfig(t: Thresholds, blockList: BlockList = EMPTY_BLOCK_LIST): FilterSettings {
  return Object.freeze({ ...pickThresholds(t), blockList, source: 'config' });
}

function pickThresholds(t: Thresholds): Thresholds {
  return {
    tokenMaxAgeMs: t.tokenMaxAgeMs,
    dedupWindowMs: t.dedupWindowMs,
    userRateMax: t.userRateMax,
    userRateWindowMs: t.userRateWindowMs,
    ipRateMax: t.ipRateMax,
    ipRateWindowMs: t.ipRateWindowMs,
    minDelayAfterPvMs: t.minDelayAfterPvMs,
  };
}

/**
 * Applies a ZooKeeper document over the configured defaults. `text` empty or absent: the
 * defaults. Throws RangeError with every problem when the document is not acceptable.
 */
export function settingsFromDocument(
  defaults: FilterSettings,
  text: string | undefined,
  source: string,
): FilterSettings {
  if (text === undefined || text.trim() === '') return Object.freeze({ ...defaults, source });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`not JSON: ${(err as Error).message}`);
  }
  if (!validateDocument(doc)) {
    const problems = (validateDocument.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? ''}`,
    );
    throw new RangeError(problems.join('; '));
  }
  const d = doc as ClickFilterDocument;
  const blockList =
    d.blockedCidrs === undefined && d.blockedUserAgents === undefined
      ? defaults.blockList
      : compileBlockList(
          d.blockedCidrs ?? defaults.blockList.cidrs,
          d.blockedUserAgents ?? defaults.blockList.userAgentPatterns,
        );
  const t = pickThresholds(defaults);
  for (const key of Object.keys(t) as (keyof Thresholds)[]) {
    const v = d[key];
    if (v !== undefined) t[key] = v;
  }
  return Object.freeze({ ...t, blockList, source });
}

/** Parses a client address as ipaddr.js sees it, IPv4-mapped IPv6 turned into IPv4. */
export function parseClientIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(ip)) return undefined;
  return ipaddr.process(ip);
}

/** True when the address falls in one of the block list's ranges. */
export function ipBlocked(list: BlockList, ip: string): boolean {
  if (list.v4.length === 0 && list.v6.length === 0) return false;
  const addr = parseClientIp(ip);
  if (addr === undefined) return false;
  const ranges = addr.kind() === 'ipv4' ? list.v4 : list.v6;
  for (const range of ranges) if (addr.match(range)) return true;
  return false;
}
