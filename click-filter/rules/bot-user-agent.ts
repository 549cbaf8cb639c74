// Rule 5, reason `bot`: the user agent is a known bot, crawler, link checker or headless browser,
// by the `isbot` package's maintained pattern list. Recent verdicts are cached (a few distinct
// user agents make up most traffic; isbot's regex costs microseconds per call).
import { isbot } from 'isbot';
import type { ClickRule } from './types.js';

const CACHE_MAX = 4096;
const cache = new Map<string, boolean>();

export function isBotUserAgent(ua: string): boolean {
  let verdict = cache.get(ua);
  if (verdict === undefined) {
    verdict = isbot(ua);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(ua, verdict);
  }
  return verdict;
}

export const botUserAgent: ClickRule = {
  reason: 'bot',
  rejects: (click) =>
    click.userAgent !== undefined && click.userAgent !== '' && isBotUserAgent(click.userAgent),
};
