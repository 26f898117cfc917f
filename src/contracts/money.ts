/**
 * The money contract as runtime code: the pure ISO 4217 module, with nothing else behind it. The dashboard and
 * the SDK import it for formatting; importing the schemas entry at runtime would bundle zod schemas of every
 * module, so runtime helpers live in their own contract files.
 */
export {
  CURRENCY_CODES,
  currencyExponent,
  formatMoney,
  formatMoneyDisplay,
  isCurrencyCode,
  minorToMajor,
  parseMoney,
} from '../platform/money.ts';
