/**
 * The HTTP side of outbound webhooks: resolving a target and refusing private addresses (on create and at every
 * connection, so a DNS answer that changes to 127.0.0.1 after the check is still refused), and one POST with a
 * timeout, no redirects followed, and the response body kept to 1 kB.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isInNetworks, isPublicAddress, type NetworkList } from '../../platform/index.ts';
import { truncateBody } from './webhooks.core.ts';

/** Which non-public addresses are allowed: none, all (`true`), or those in a list of networks. */
export type PrivatePolicy = boolean | NetworkList;

export const addressAllowed = (ip: string, policy: PrivatePolicy): boolean =>
  isPublicAddress(ip) || policy === true || (policy !== false && isInNetworks(ip, policy));

/** The host's addresses, or the reason it cannot be used (unresolvable, or an address the policy refuses). */
export async function resolveTarget(url: URL, policy: PrivatePolicy): Promise<{ ok: true } | { ok: false; reason: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { ok: false, reason: 'host does not resolve' };
  }
  const refused = addresses.find((a) => !addressAllowed(a, policy));
  return refused === undefined ? { ok: true } : { ok: false, reason: 'points to a private, loopback or link-local address' };
}

/** A DNS lookup for http.request that refuses addresses the policy does not allow (checked at connect time). */
function guardedLookup(policy: PrivatePolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as unknown as dns.LookupAddress[];
      const refused = list.find((a) => !addressAllowed(a.address, policy));
      if (refused || !list.length) {
        const e = Object.assign(new Error('target resolves to a refused address'), { code: 'WEBHOOK_PRIVATE_ADDRESS' });
        return callback(e, '', 4);
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

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
        err.code === 'WEBHOOK_TIMEOUT' || err.code === 'WEBHOOK_PRIVATE_ADDRESS' ? err.message : `${err.code ?? 'error'}: ${err.message}`;
      done({ ok: false, statusCode: null, error: error.slice(0, 500), responseBody: null });
    });
    req.end(body);
  });
}
