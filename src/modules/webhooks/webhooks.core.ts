/**
 * Pure rules of outbound webhooks: the event-type catalogue and subscription patterns, the Standard Webhooks
 * signature (https://www.standardwebhooks.com), secrets, retry backoff and the shape of target URLs. No I/O.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Every event type Loupe sends (the dashboard's picker shows this list). */
export const EVENT_TYPES = [
  { type: 'commerce.order.paid', description: 'An order was paid (its payment captured), once per order.' },
  {
    type: 'commerce.order.refunded',
    description: 'Money was refunded on an order (status refunded, or partially_refunded when some is left), once per refund.',
  },
  { type: 'commerce.order.cancelled', description: 'An order was cancelled (by the merchant, or its payment failed).' },
  { type: 'commerce.order.fulfilled', description: 'A paid order was marked fulfilled.' },
  { type: 'pricing.price_alert.triggered', description: "A shopper's price alert fired: the best price reached its target or dropped." },
  { type: 'predictions.segment.entered', description: 'A profile entered an RFM segment (on change, not on every rescore).' },
  {
    type: 'predictions.churn_risk.crossed',
    description: "A profile's churn probability crossed the tenant's at-risk threshold (up or down).",
  },
  {
    type: 'warehouse.quality.failed',
    description: 'A data-quality run found failing checks (once per run; the payload lists them).',
  },
  { type: 'webhook.test', description: 'A test event sent from the dashboard or POST /webhooks/endpoints/:id/test.' },
] as const;
export type EventType = (typeof EVENT_TYPES)[number]['type'];

/**
 * Whether a subscription pattern is valid: `*`, a known type, or `prefix.*` where some known type starts with
 * `prefix.`. Returns the reason when not.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern === '*') return null;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    if (prefix.includes('*')) return 'a wildcard may only end the pattern';
    return EVENT_TYPES.some((e) => e.type.startsWith(prefix)) ? null : 'no event type starts with this prefix';
  }
  if (pattern.includes('*')) return 'a wildcard may only end the pattern, after a dot';
  return EVENT_TYPES.some((e) => e.type === pattern) ? null : 'unknown event type';
}

/** Whether an event type matches one of the patterns (`*`, exact, or `prefix.*` for any type under the prefix). */
export function matchesAny(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/** A new endpoint secret: `whsec_` + base64 of 24 random bytes (the HMAC key is the decoded bytes). */
export function newSecret(random: (n: number) => Buffer = randomBytes): string {
  return `whsec_${random(24).toString('base64')}`;
}

const keyOf = (secret: string): Buffer => Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');

/** The `v1,<base64>` signature of a message: HMAC-SHA256 over `id.timestamp.body` with the decoded secret. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: one `v1,` entry per secret, space-separated (two during a rotation's grace). */
export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => signature(s, id, timestampSeconds, body)).join(' ');
}

/** The webhook-id of a message: `msg_` + its id without dashes (the same on every attempt and redelivery). */
export const messageIdHeader = (messageId: string): string => `msg_${messageId.replace(/-/g, '')}`;

/**
 * Milliseconds to wait after `failedAttempts` failed attempts, or null when the schedule is spent (the delivery
 * fails). `random` in [0, 1) adds ±20% jitter so endpoints coming back are not hit by every retry at once.
 */
export function nextDelayMs(failedAttempts: number, scheduleSeconds: readonly number[], random: number): number | null {
  const s = scheduleSeconds[failedAttempts - 1];
  if (s === undefined || failedAttempts < 1) return null;
  return Math.round(s * 1000 * (0.8 + 0.4 * random));
}

/** Whether an endpoint failing since `failingSince` has failed long enough to be disabled. */
export function shouldDisable(failingSince: Date | null, now: Date, disableAfterDays: number): boolean {
  return failingSince !== null && now.getTime() - failingSince.getTime() >= disableAfterDays * 86_400_000;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * The shape of a target URL: http(s) only, no credentials, a host, at most 2,048 characters. Where it points (a
 * private address) is checked with DNS by the sender, on create and again on every connection.
 */
export function checkUrlShape(text: string): UrlCheck {
  if (text.length > 2048) return { ok: false, reason: 'is longer than 2,048 characters' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'must use http or https' };
  if (url.username || url.password) return { ok: false, reason: 'must not carry credentials' };
  if (!url.hostname) return { ok: false, reason: 'has no host' };
  return { ok: true, url };
}

/** The start of a response body kept in the log: at most `maxBytes` of UTF-8, cut on a character boundary. */
export function truncateBody(body: Buffer, maxBytes = 1024): string {
  if (body.length <= maxBytes) return body.toString('utf8').replaceAll('\u0000', '');
  let end = maxBytes;
  // step back over UTF-8 continuation bytes so no character is split
  while (end > 0 && (body[end]! & 0xc0) === 0x80) end--;
  return body.subarray(0, end).toString('utf8').replaceAll('\u0000', '');
}
