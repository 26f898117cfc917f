import { createHash } from 'node:crypto';

/**
 * PII scrubbing for logs: e-mail addresses, phone numbers and secrets never appear in clear.
 * E-mails and phones become a short stable hash (so one person's lines can still be correlated),
 * secrets become their prefix and asterisks.
 */
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const SECRET = /\b(sk_(?:live|test)_|rt_|whsec_)[A-Za-z0-9_-]{6,}/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
// Phone-like: optional +, then 7 to 15 digits possibly separated by spaces, dots, dashes or parentheses.
const PHONE = /(?<![\w-])\+?\(?\d(?:[\s.()-]*\d){6,14}(?![\w-])/g;

const shortHash = (v: string): string => createHash('sha256').update(v.toLowerCase()).digest('hex').slice(0, 10);

export function redactPii(text: string): string {
  return text
    .replace(SECRET, (_m, prefix: string) => `${prefix}***`)
    .replace(BEARER, (_m, prefix: string) => `${prefix}***`)
    .replace(EMAIL, (m) => `<email:${shortHash(m)}>`)
    .replace(PHONE, (m) => {
      // Leave timestamps, UUID fragments and plain counters alone: only digit runs that look like phones.
      const digits = m.replace(/\D/g, '');
      if (digits.length < 7) return m;
      return `<phone:${shortHash(digits)}>`;
    });
}

/** Deep copy of a log object with every string value scrubbed. Errors become scrubbed plain objects. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[depth]';
  if (typeof value === 'string') return redactPii(value);
  if (value instanceof Error) return serializeError(value, depth);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  // Only plain objects and arrays are copied: class instances (requests, replies, errors) keep their
  // prototype so that pino's serializers (which scrub them) still see their getters.
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = /password|secret|token|authorization|cookie|api[_-]?key/i.test(k) ? '[redacted]' : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

// A failed statement's values: drizzle puts them in `params` and in its message ("Failed query: ...
// params: a,b"); PostgreSQL repeats them in `detail` ("Key (email)=(jane@x.com) already exists.",
// "Failing row contains (...)"). Any of them may be an e-mail, a phone, a key prefix or a key hash, which
// no text pattern recognises reliably: the values are dropped, their types and lengths kept for debugging.
const PARAMS_IN_TEXT = /\nparams: [\s\S]*?(?=\n\s+at |$)/;
const VALUES_IN_DETAIL = /(\)=\()[\s\S]*\)|(contains \()[\s\S]*\)/g;
const VALUE_KEYS = new Set(['params', 'parameters', 'values', 'bindings']);
const DETAIL_KEYS = new Set(['detail', 'where', 'hint', 'internalQuery']);

/** A statement parameter as its shape only: `<text:24>`, `<number>`, `<array:3>`... */
export function describeParam(v: unknown): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (typeof v === 'string') return `<text:${v.length}>`;
  if (Array.isArray(v)) return `<array:${v.length}>`;
  if (v instanceof Date) return '<date>';
  if (typeof v === 'object') return '<json>';
  return `<${typeof v}>`;
}

function scrubErrorText(text: string): string {
  return redactPii(text.replace(PARAMS_IN_TEXT, '\nparams: [redacted]'));
}

/** A database error's `detail` with the row values removed. */
export function scrubDetail(detail: string): string {
  return redactPii(detail.replace(VALUES_IN_DETAIL, (_m, eq?: string, contains?: string) => `${eq ?? contains}[redacted])`));
}

/**
 * An error (and its `cause` chain) as a plain object for the log: message and stack scrubbed, statement
 * parameters replaced by their shapes, database `detail` without values, other fields scrubbed.
 */
export function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name || err.constructor?.name || 'Error', message: scrubErrorText(String(err.message)) };
  if (err.stack) out.stack = scrubErrorText(err.stack);
  for (const [k, v] of Object.entries(err)) {
    if (k === 'cause' || k === 'message' || k === 'stack') continue;
    if (VALUE_KEYS.has(k)) out[k] = Array.isArray(v) ? v.map(describeParam) : '[redacted]';
    else if (DETAIL_KEYS.has(k) && typeof v === 'string') out[k] = scrubDetail(v);
    else out[k] = redactValue(v, depth + 1);
  }
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined) {
    out.cause = depth > 4 ? '[depth]' : cause instanceof Error ? serializeError(cause, depth + 1) : redactValue(cause, depth + 1);
  }
  return out;
}
