import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signature schemes, verified over the RAW request bytes. Pure: `now` is passed in.
 * Every comparison is constant-time; a missing or malformed header is simply "not verified".
 */

export type Verification =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'malformed_signature' };

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce (`X-WC-Webhook-Signature`): base64 HMAC-SHA256 of the body. */
export function verifyHmacSha256Base64(secret: string, rawBody: Buffer, header: string | undefined): Verification {
  if (!header) return { ok: false, reason: 'missing_signature' };
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header.trim(), 'base64');
  return safeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

export function signHmacSha256Base64(secret: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

/** Stripe's default tolerance between the signed timestamp and now. */
export const STRIPE_TOLERANCE_SECONDS = 300;

/**
 * Stripe (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`): hex HMAC-SHA256 of `${t}.${body}`; refused when the
 * signed timestamp is more than `toleranceSeconds` away from `now` (replays of old captures).
 */
export function verifyStripe(
  secret: string,
  rawBody: Buffer,
  header: string | undefined,
  now: Date,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): Verification & { timestamp?: number } {
  if (!header) return { ok: false, reason: 'missing_signature' };
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2).map((x) => x?.trim());
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/i.test(v)) v1.push(v.toLowerCase());
  }
  if (t === undefined || !v1.length) return { ok: false, reason: 'malformed_signature' };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  if (!v1.some((s) => safeEqual(expected, Buffer.from(s, 'hex')))) return { ok: false, reason: 'bad_signature' };
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return { ok: false, reason: 'stale_timestamp', timestamp: t };
  return { ok: true, timestamp: t };
}

/**
 * Twilio (`X-Twilio-Signature`): base64 HMAC-SHA1, keyed with the auth token, of the full public URL followed by
 * every POST parameter name and value, sorted by name. The URL must be the one Twilio called (behind a proxy,
 * configure PUBLIC_URL). Also accepts the URL with or without the default port, as Twilio's own helper does.
 */
export function verifyTwilio(authToken: string, url: string, params: URLSearchParams, header: string | undefined): Verification {
  if (!header) return { ok: false, reason: 'missing_signature' };
  const given = Buffer.from(header.trim(), 'base64');
  for (const candidate of urlVariants(url)) {
    if (safeEqual(twilioSignature(authToken, candidate, params), given)) return { ok: true };
  }
  return { ok: false, reason: 'bad_signature' };
}

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): Buffer {
  const keys = [...new Set(params.keys())].sort();
  let data = url;
  for (const k of keys) for (const v of params.getAll(k)) data += k + v;
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest();
}

function urlVariants(url: string): string[] {
  const m = /^(https?):\/\/([^/:?#]+)(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return [url];
  const defaultPort = m[1]!.toLowerCase() === 'https' ? '443' : '80';
  if (m[3] === undefined) return [url, `${m[1]}://${m[2]}:${defaultPort}${m[4]}`];
  return m[3] === defaultPort ? [url, `${m[1]}://${m[2]}${m[4]}`] : [url];
}
