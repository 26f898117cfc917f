import Bowser from 'bowser';

/** Invalid-traffic rules for sponsored clicks (pure; kept apart from sponsored.core.ts so schemas never pull Bowser). */

/** Whether a user agent is a known bot, crawler or headless browser (Bowser's crawler list plus plain words). */
export function isBotUserAgent(ua: string | null | undefined): boolean {
  const s = (ua ?? '').slice(0, 1000);
  if (!s) return false;
  if (/bot\b|crawler|spider|headless|lighthouse|curl\/|python-requests|wget/i.test(s)) return true;
  return Bowser.parse(s).platform.type === 'bot';
}

export type ClickVerdict = 'valid' | 'bot' | 'repeat';

/**
 * Invalid-traffic rule for a click: a bot user agent, or a click by the same user on the same campaign
 * within `repeatSeconds` of a previous one (double clicks, click farms replaying), is recorded but not charged.
 */
export function clickVerdict(input: {
  userAgent?: string | null | undefined;
  previousClickAt: Date | null;
  at: Date;
  repeatSeconds: number;
}): ClickVerdict {
  if (isBotUserAgent(input.userAgent)) return 'bot';
  if (input.previousClickAt && Math.abs(input.at.getTime() - input.previousClickAt.getTime()) < input.repeatSeconds * 1000) return 'repeat';
  return 'valid';
}
