import { describe, expect, it } from 'vitest';
import { BROWSER_UA, click, settings } from '../testing.js';
import { botUserAgent } from './bot-user-agent.js';

describe('rule: bot or crawler user agent', () => {
  it('has reason code "bot"', () => expect(botUserAgent.reason).toBe('bot'));
  it.each([
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'curl/8.5.0',
    'python-requests/2.31.0',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36',
  ])('rejects %s', (ua) => expect(botUserAgent.rejects(click({ userAgent: ua }), settings())).toBe(true));
  it('accepts a desktop browser', () =>
    expect(botUserAgent.rejects(click({ userAgent: BROWSER_UA }), settings())).toBe(false));
  it('accepts a mobile browser', () =>
    expect(
      botUserAgent.rejects(
        click({
          userAgent:
            'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
        }),
        settings(),
      ),
    ).toBe(false));
  it('leaves a missing user agent to its own rule', () =>
    expect(botUserAgent.rejects(click({ userAgent: undefined }), settings())).toBe(false));
});
