/**
 * A tenant's regional settings: the currency its figures are shown in when an amount names none, the locale
 * numbers and dates are written in, and the time zone days are cut in (analytics reads the same
 * `settings.timezone`). Pure: validation and defaults.
 */
import { isCurrencyCode } from '../../platform/index.ts';

export interface Regional {
  currency: string;
  locale: string;
  timezone: string;
}

export const REGIONAL_DEFAULTS: Regional = { currency: 'USD', locale: 'en-US', timezone: 'UTC' };

/** The canonical form of a BCP 47 locale tag (`en-gb` -> `en-GB`), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  try {
    const [c] = Intl.getCanonicalLocales(tag);
    return c && c.length <= 35 ? c : null;
  } catch {
    return null;
  }
}

/** The IANA name of a time zone the runtime knows (`europe/london` -> `Europe/London`), or null. */
export function canonicalTimeZone(tz: string): string | null {
  if (tz.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The tenant's regional settings from its stored settings, each unset or unusable value replaced by its default. */
export function regionalOf(settings: Record<string, unknown>): Regional {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const currency = str(settings.currency);
  return {
    currency: isCurrencyCode(currency) ? currency : REGIONAL_DEFAULTS.currency,
    locale: canonicalLocale(str(settings.locale)) ?? REGIONAL_DEFAULTS.locale,
    timezone: canonicalTimeZone(str(settings.timezone)) ?? REGIONAL_DEFAULTS.timezone,
  };
}
