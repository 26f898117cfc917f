/**
 * Target countries of Google Shopping and the currency a product's price must be in for each (Google's
 * "Currency" column of its supported countries list; a price in another currency is disapproved unless
 * currency conversion is set up, which Loupe does not assume). Pure data.
 */
export const COUNTRY_CURRENCY: Readonly<Record<string, string>> = {
  AE: 'AED',
  AR: 'ARS',
  AT: 'EUR',
  AU: 'AUD',
  BE: 'EUR',
  BR: 'BRL',
  CA: 'CAD',
  CH: 'CHF',
  CL: 'CLP',
  CO: 'COP',
  CZ: 'CZK',
  DE: 'EUR',
  DK: 'DKK',
  ES: 'EUR',
  FI: 'EUR',
  FR: 'EUR',
  GB: 'GBP',
  GR: 'EUR',
  HK: 'HKD',
  HU: 'HUF',
  ID: 'IDR',
  IE: 'EUR',
  IL: 'ILS',
  IN: 'INR',
  IT: 'EUR',
  JP: 'JPY',
  KR: 'KRW',
  MX: 'MXN',
  MY: 'MYR',
  NL: 'EUR',
  NO: 'NOK',
  NZ: 'NZD',
  PH: 'PHP',
  PL: 'PLN',
  PT: 'EUR',
  RO: 'RON',
  SA: 'SAR',
  SE: 'SEK',
  SG: 'SGD',
  TH: 'THB',
  TR: 'TRY',
  TW: 'TWD',
  UA: 'UAH',
  US: 'USD',
  VN: 'VND',
  ZA: 'ZAR',
};

/** Countries whose prices Google wants without tax (tax is set in Merchant Center instead). */
export const TAX_EXCLUSIVE_COUNTRIES: ReadonlySet<string> = new Set(['US', 'CA']);

/**
 * Countries where apparel items must carry color, size, gender and age_group (Google's specification lists
 * Brazil, France, Germany, Japan, the UK and the US).
 */
export const APPAREL_DETAIL_COUNTRIES: ReadonlySet<string> = new Set(['BR', 'FR', 'DE', 'JP', 'GB', 'US']);

export const TARGET_COUNTRIES: readonly string[] = Object.keys(COUNTRY_CURRENCY).sort();
