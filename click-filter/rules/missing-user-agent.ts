// Rule 6, reason `no-user-agent`: no User-Agent header, or an empty or blank one. Every browser
// sends one; scripts often do not.
import type { ClickRule } from './types.js';

export const missingUserAgent: ClickRule = {
  reason: 'no-user-agent',
  rejects: (click) => click.userAgent === undefined || click.userAgent.trim() === '',
};
