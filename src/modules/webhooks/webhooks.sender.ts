/**
 * The HTTP side of outbound webhooks: the platform's outbound guard (`platform/outbound.ts`: private addresses refused on
 * create and at every connection), and one POST with a timeout, no redirects followed, and the response body kept to 1 kB.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressAllowed, guardedLookup, OUTBOUND_PRIVATE_ADDRESS, type PrivatePolicy } from '../../platform/index.ts';
import { truncateBody } from './webhooks.core.ts';

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

/**
 * POSTs `body` to `url` with `headers`. 2xx is success; a redirect is a failure (never followed); the attempt is
 * abandoned after `timeoutMs` (connection, headers and body together). Never throws.
 */
export function sendWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; policy: PrivatePolicy },
): Promise<SendResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address literal skips DNS, so the policy is checked here too.
  if (isIP(host) && !addressAllowed(host, opts.policy))
    return Promise.resolve({
      ok: false,
      statusCode: null,
      latencyMs: 0,
      error: 'target is a private, loopback or link-local address',
      responseBody: null,
    });
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, latencyMs: latency() });
    };
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(opts.policy),
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`timed out after ${opts.timeoutMs} ms`), { code: 'WEBHOOK_TIMEOUT' }));
    }, opts.timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (kept < 1100) {
          chunks.push(c);
          kept += c.length;
        }
      });
      res.on('error', (err) => done({ ok: false, statusCode: res.statusCode ?? null, error: err.message, responseBody: null }));
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const ok = code >= 200 && code < 300;
        done({
          ok,
          statusCode: code,
          error: ok ? null : code >= 300 && code < 400 ? `redirect (${code}) not followed` : `HTTP ${code}`,
          responseBody: truncateBody(Buffer.concat(chunks)),
        });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const error =
        err.code === 'WEBHOOK_TIMEOUT' || err.code === OUTBOUND_PRIVATE_ADDRESS ? err.message : `${err.code ?? 'error'}: ${err.message}`;
      done({ ok: false, statusCode: null, error: error.slice(0, 500), responseBody: null });
    });
    req.end(body);
  });
}
