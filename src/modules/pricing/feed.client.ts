/**
 * Retailer feeds by URL: one conditional GET (If-None-Match / If-Modified-Since from the last good answer), only
 * http(s), through the platform's outbound guard (private, loopback and link-local hosts refused on save and at
 * every connection, redirects included), at most MAX_REDIRECTS redirects, a size limit and one deadline for the
 * whole fetch. Never parses: the caller imports the text.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressAllowed, guardedLookup, OUTBOUND_PRIVATE_ADDRESS, type PrivatePolicy } from '../../platform/index.ts';

export const MAX_REDIRECTS = 3;

export interface FeedFetchOptions {
  policy: PrivatePolicy;
  maxBytes: number;
  timeoutMs: number;
}
export interface FeedValidators {
  etag: string | null;
  lastModified: string | null;
}
export type FeedFetchResult =
  | { kind: 'not_modified' }
  | { kind: 'ok'; text: string; contentType: string | null; etag: string | null; lastModified: string | null };

/** A fetch that failed; `permanent`: retrying cannot help (404, a refused host, too large, not a feed URL). */
export class FeedFetchError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'FeedFetchError';
  }
}

/** Why a URL cannot be a feed URL (shape only: the host is checked by the guard), or null. */
export function feedUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http or https';
  if (url.username || url.password) return 'must not carry a user name or password';
  return null;
}

function getOnce(
  url: URL,
  validators: FeedValidators,
  opts: FeedFetchOptions,
  signal: AbortSignal,
): Promise<{ status: number; location: string | null; res: http.IncomingMessage }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address literal skips DNS, so the policy is checked here too.
  if (isIP(host) && !addressAllowed(host, opts.policy))
    return Promise.reject(new FeedFetchError('the feed URL points to a private, loopback or link-local address', true));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/csv, application/xml, application/rss+xml, application/json, */*;q=0.5' };
    if (validators.etag) headers['if-none-match'] = validators.etag;
    if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: 'GET', headers, lookup: guardedLookup(opts.policy), agent: false, signal });
    req.on('response', (res) => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, res }));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === OUTBOUND_PRIVATE_ADDRESS)
        reject(new FeedFetchError('the feed URL points to a private, loopback or link-local address', true));
      else if (signal.aborted) reject(new FeedFetchError(`the feed did not answer within ${opts.timeoutMs} ms`, false));
      else reject(new FeedFetchError(`the feed could not be fetched: ${err.code ?? err.message}`, false));
    });
    req.end();
  });
}

async function readBody(res: http.IncomingMessage, opts: FeedFetchOptions, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    res.destroy();
    throw new FeedFetchError(`the feed is larger than ${opts.maxBytes} bytes`, true);
  }
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > opts.maxBytes) {
        res.destroy();
        throw new FeedFetchError(`the feed is larger than ${opts.maxBytes} bytes`, true);
      }
      parts.push(c as Buffer);
    }
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    if (signal.aborted) throw new FeedFetchError(`the feed did not answer within ${opts.timeoutMs} ms`, false);
    throw new FeedFetchError(`the feed's answer broke off: ${(err as Error).message.slice(0, 200)}`, false);
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Fetches the feed at `raw`: `not_modified` on 304, its text on 2xx. Throws FeedFetchError otherwise: 4xx (but 408
 * and 429), a refused host, too many redirects or too large a body are permanent; 5xx, 408, 429, a network error and
 * the deadline are worth a retry.
 */
export async function fetchFeed(raw: string, validators: FeedValidators, opts: FeedFetchOptions): Promise<FeedFetchResult> {
  const problem = feedUrlProblem(raw);
  if (problem) throw new FeedFetchError(`the feed URL ${problem}`, true);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let url = new URL(raw);
  for (let hop = 0; ; hop++) {
    const { status, location, res } = await getOnce(url, validators, opts, signal);
    if (status >= 300 && status < 400 && status !== 304) {
      res.resume();
      if (!location) throw new FeedFetchError(`the feed answered a redirect (${status}) without a location`, true);
      if (hop >= MAX_REDIRECTS) throw new FeedFetchError(`the feed redirected more than ${MAX_REDIRECTS} times`, true);
      const next = new URL(location, url);
      const p = feedUrlProblem(next.href);
      if (p) throw new FeedFetchError(`the feed redirected to a URL that ${p}`, true);
      url = next;
      continue;
    }
    if (status === 304) {
      res.resume();
      return { kind: 'not_modified' };
    }
    if (status < 200 || status >= 300) {
      res.resume();
      const retry = status >= 500 || status === 408 || status === 429;
      throw new FeedFetchError(`the feed answered HTTP ${status}`, !retry);
    }
    const text = await readBody(res, opts, signal);
    const header = (name: string) => {
      const v = res.headers[name];
      return typeof v === 'string' && v.length <= 500 ? v : null;
    };
    return { kind: 'ok', text, contentType: header('content-type'), etag: header('etag'), lastModified: header('last-modified') };
  }
}
