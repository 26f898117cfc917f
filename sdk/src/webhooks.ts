/**
 * Verifying Loupe's outbound webhooks (the Standard Webhooks scheme): `webhook-signature` holds one or more
 * space-separated `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with
 * the base64-decoded part of the endpoint's `whsec_...` secret. During a secret rotation's grace period Loupe signs
 * with both secrets, so either verifies. Web Crypto only (Node 20+, Deno, Bun, workers): no dependency.
 */

export type WebhookVerificationCode = 'missing_header' | 'invalid_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature' | 'invalid_secret';

/** Thrown by verifyWebhook: `code` says what was wrong. Answer such a request 400 or 401 and do not process it. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookVerificationCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface VerifiedWebhook<T = unknown> {
  /** The webhook-id: the same on every retry and redelivery of one event (deduplicate on it). */
  id: string;
  /** The event's type, e.g. `pricing.price_alert.triggered`. */
  type: string;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: T;
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v[0] : v;
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * Checks a delivery's signature and age, then returns its parsed body. `rawBody` must be the bytes as received
 * (parse the JSON after verifying: re-serializing changes them). `toleranceSeconds` (default 300) bounds how far
 * `webhook-timestamp` may be from now, against replays. Throws WebhookVerificationError; signatures are compared
 * with Web Crypto's `verify` (constant time).
 */
export async function verifyWebhook<T = unknown>(
  secret: string,
  headers: HeaderBag,
  rawBody: string | Uint8Array,
  opts: { toleranceSeconds?: number; now?: Date } = {},
): Promise<VerifiedWebhook<T>> {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const sig = header(headers, 'webhook-signature');
  if (!id || !ts || !sig) throw new WebhookVerificationError('missing_header', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,12}$/.test(ts)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not Unix seconds');
  const tolerance = opts.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - Number(ts)) > tolerance)
    throw new WebhookVerificationError('timestamp_out_of_tolerance', `webhook-timestamp is more than ${tolerance} s from now`);
  const keyBytes = base64ToBytes(secret.startsWith('whsec_') ? secret.slice(6) : secret);
  if (!keyBytes || keyBytes.length === 0) throw new WebhookVerificationError('invalid_secret', 'the secret is not whsec_ followed by base64');
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const enc = new TextEncoder();
  const body = typeof rawBody === 'string' ? enc.encode(rawBody) : rawBody;
  const prefix = enc.encode(`${id}.${ts}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  let matched = false;
  for (const entry of sig.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const bytes = base64ToBytes(value);
    if (bytes && (await crypto.subtle.verify('HMAC', key, bytes, signed))) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('no_matching_signature', 'no v1 signature matches this secret');
  const text = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  const parsed = JSON.parse(text) as { type: string; timestamp: string; data: T };
  return { id, type: parsed.type, timestamp: parsed.timestamp, data: parsed.data };
}
