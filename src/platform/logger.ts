import type { FastifyServerOptions } from 'fastify';
import { redactPii, redactValue, serializeError } from './redact.ts';

/**
 * Pino options for JSON logs in which e-mail addresses, phone numbers and secrets never appear in clear:
 * credentials headers are removed, URLs and every logged string are scrubbed (hashes stand in for PII).
 */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["x-shopify-hmac-sha256"]'],
      censor: '[redacted]',
    },
    serializers: {
      req(req: { method?: string; url?: string; id?: string }) {
        return { method: req.method, url: typeof req.url === 'string' ? redactUrl(req.url) : undefined, id: req.id };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
      // Errors logged as the first argument or under `err`: never a failed statement's values in clear.
      // (The logMethod hook below has usually serialized it already: a plain object passes through.)
      err(err: Error) {
        return (err instanceof Error ? serializeError(err) : err) as { type: string; message: string; stack: string };
      },
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? redactPii(a) : redactValue(a))) as Parameters<typeof method>;
        return method.apply(this, scrubbed);
      },
    },
  };
}

/** Query-string values are hashed or dropped: `/profiles/lookup?email=...` must not leak into logs. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactPii(url);
  const params = new URLSearchParams(url.slice(q + 1));
  const out: string[] = [];
  for (const [k, v] of params) {
    out.push(
      `${encodeURIComponent(k)}=${/email|phone|whatsapp|user_id|customer_id|loyalty|device_id|anonymous_id|cookie|identifier|token|key|secret|password|^q$/i.test(k) ? '[redacted]' : encodeURIComponent(redactPii(v))}`,
    );
  }
  return `${redactPii(url.slice(0, q))}?${out.join('&')}`;
}
