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

/** Deep copy of a log object with every string value scrubbed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[depth]';
  if (typeof value === 'string') return redactPii(value);
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
