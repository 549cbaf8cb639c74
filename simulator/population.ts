// The simulated users: who sends query i, and each user's stable address and browser. Pure
// functions of (seed, index): the same seed gives the same user for the same query whatever the
// concurrency. A user keeps one address and one user agent for the whole run, so the blender's
// client digest (ip, user agent) in a click token matches the click that user later makes.
import { Rng } from '../bench/gen/rng.js';

/** Real browser user agents (Chrome, Firefox, Safari, Edge on desktop and mobile). */
export const BROWSER_USER_AGENTS: readonly string[] = Object.freeze([
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
]);

/** Addresses are 10.x.y.z from the user number, so at most this many distinct users. */
export const MAX_USERS = 1_000_000;

export interface SimUser {
  index: number;
  id: string;
  ip: string;
  userAgent: string;
}

export class Population {
  private readonly root: Rng;

  constructor(
    seed: string,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_USERS)
      throw new RangeError(`users must be a whole number 1-${MAX_USERS}, got ${size}`);
    this.root = Rng.fromSeed(`simulate-users:${seed}`);
  }

  /** The user who sends query number `queryIndex` (uniform over the population). */
  userOf(queryIndex: number): SimUser {
    return this.user(this.root.derive('query-user', queryIndex).int(0, this.size - 1));
  }

  user(index: number): SimUser {
    const n = index + 1; // 10.0.0.0 is a network address; start at 10.0.0.1
    const ip = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    const userAgent = this.root.derive('user-agent', index).pick(BROWSER_USER_AGENTS);
    return { index, id: `sim-${index}`, ip, userAgent };
  }
}
