import { createAdminApiClient } from '@shopify/admin-api-client';
import { abortableSleep, backoffMs } from '../../../platform/index.ts';
import { type BackfillResource, missingScopeOf, type ThrottleStatus, throttleStatusOf, waitForPointsMs } from './shopify-admin.core.ts';

/** Why the Admin API refused; `permanent` failures need the merchant (a token, a scope), the others may pass. */
export type ShopifyAdminErrorCode =
  | 'SHOPIFY_TOKEN_INVALID'
  | 'SHOPIFY_SCOPE_MISSING'
  | 'SHOPIFY_SHOP_UNAVAILABLE'
  | 'SHOPIFY_UNAVAILABLE'
  | 'SHOPIFY_QUERY_FAILED';

export class ShopifyAdminError extends Error {
  constructor(
    readonly code: ShopifyAdminErrorCode,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'ShopifyAdminError';
  }
}

export interface ShopifyAdminClientOptions {
  /** The shop (`my-store.myshopify.com`). */
  shopDomain: string;
  accessToken: string;
  apiVersion: string;
  /** Where the shop is reached instead of https://<shop domain> (a proxy; a local server in tests). */
  baseUrl?: string | undefined;
  /** Cap of the first retry delay on 5xx / 429 / network errors, doubled per attempt (full jitter below it). */
  retryBaseMs: number;
  /** Retries of one request on 5xx / network errors (default 4). */
  maxRetries?: number;
  /** Throttled answers waited out for one request before giving up (default 30). */
  maxThrottleWaits?: number;
  signal?: AbortSignal | undefined;
  /** Told each wait (throttle or backoff), for progress and tests. */
  onWait?: (why: 'throttled' | 'retry', ms: number) => void;
}

export interface AdminQueryOptions {
  /** The resource asked for: names the missing scope when Shopify refuses. */
  resource?: BackfillResource | undefined;
  /** Points the query is expected to cost: waited for before sending when the bucket is known to be short. */
  expectedCost?: number | undefined;
}

/**
 * A GraphQL Admin API client for one shop on Shopify's official `@shopify/admin-api-client` (headers, URL,
 * response parsing), with what a long backfill needs on top: Shopify's cost-based throttling (a THROTTLED answer
 * waits until `throttleStatus` has restored the points the query costs; known-short buckets are waited for
 * before sending), retries with exponential backoff and jitter on 5xx, 429 and network errors, and errors a
 * merchant can act on (401: the token; 403 / ACCESS_DENIED: the access scope to grant). The base URL is
 * configurable through `customFetchApi` (the package always builds https://<shop>/admin/api/<version>/graphql.json).
 */
export function createShopifyAdminClient(opts: ShopifyAdminClientOptions) {
  const base = opts.baseUrl?.replace(/\/+$/, '');
  const client = createAdminApiClient({
    storeDomain: opts.shopDomain,
    apiVersion: opts.apiVersion,
    accessToken: opts.accessToken,
    userAgentPrefix: 'Loupe backfill',
    retries: 0, // retried here, with Shopify's throttle semantics
    // An unsupported version is Shopify's to refuse; the package's warning would go to the console.
    logger: () => undefined,
    customFetchApi: (url, init) => {
      const target = base ? `${base}${new URL(url).pathname}` : url;
      return fetch(target, { ...(init as RequestInit), ...(opts.signal ? { signal: opts.signal } : {}), redirect: 'error' });
    },
  });
  const maxRetries = opts.maxRetries ?? 4;
  const maxThrottleWaits = opts.maxThrottleWaits ?? 30;
  /** The bucket as last reported, and when: points restore at `restoreRate` per second since. */
  let bucket: { status: ThrottleStatus; at: number } | null = null;

  const wait = async (why: 'throttled' | 'retry', ms: number) => {
    opts.onWait?.(why, ms);
    await abortableSleep(ms, opts.signal);
  };
  // Full jitter, as the platform's retrying transport (which this client cannot use: the package does the fetch).
  const backoff = (attempt: number) => backoffMs(attempt, opts.retryBaseMs, 60_000);

  /** Sends `query`; answers its `data`. Throws ShopifyAdminError (or the abort reason when the signal fires). */
  async function query(query: string, variables: Record<string, unknown> = {}, q: AdminQueryOptions = {}): Promise<unknown> {
    let retries = 0;
    let throttles = 0;
    for (;;) {
      if (bucket && q.expectedCost) {
        const elapsed = (Date.now() - bucket.at) / 1000;
        const now = {
          ...bucket.status,
          currentlyAvailable: Math.min(
            bucket.status.maximumAvailable,
            bucket.status.currentlyAvailable + elapsed * bucket.status.restoreRate,
          ),
        };
        const ms = waitForPointsMs(now, q.expectedCost);
        if (ms > 0) await wait('throttled', ms);
      }
      opts.signal?.throwIfAborted();
      const res = await client.request(query, { variables });
      opts.signal?.throwIfAborted();
      const cost = throttleStatusOf(res.extensions);
      if (cost.status) bucket = { status: cost.status, at: Date.now() };
      const err = res.errors;
      if (!err) return res.data;
      const status = err.networkStatusCode;
      const gql = Array.isArray(err.graphQLErrors) ? err.graphQLErrors : [];
      const codeOf = (e: unknown) => String((e as { extensions?: { code?: unknown } }).extensions?.code ?? '');
      const first = gql.map((e) => String((e as { message?: unknown }).message ?? '')).find(Boolean) ?? err.message ?? '';
      if (status === 401)
        throw new ShopifyAdminError(
          'SHOPIFY_TOKEN_INVALID',
          'Shopify refused the Admin API access token (401): it is wrong, or the app was uninstalled. Create a new token in the Shopify admin (Settings → Apps → Develop apps) and start the backfill again with it.',
          true,
        );
      if (status === 403 || gql.some((e) => codeOf(e) === 'ACCESS_DENIED')) {
        const scope = missingScopeOf(first, q.resource ?? null);
        throw new ShopifyAdminError(
          'SHOPIFY_SCOPE_MISSING',
          `Shopify refused access${q.resource ? ` to ${q.resource}` : ''}: the app's token lacks the ${scope} scope. Grant ${scope} to the app in the Shopify admin, reinstall it, and start the backfill again.`,
          true,
        );
      }
      if (status === 402 || status === 404 || status === 423)
        throw new ShopifyAdminError(
          'SHOPIFY_SHOP_UNAVAILABLE',
          `Shopify answered ${status}: the shop is ${status === 402 ? 'frozen (unpaid)' : status === 423 ? 'locked' : 'not found at this domain'}. Check the shop domain of this connection.`,
          true,
        );
      if (gql.some((e) => codeOf(e) === 'THROTTLED')) {
        if (++throttles > maxThrottleWaits)
          throw new ShopifyAdminError('SHOPIFY_UNAVAILABLE', 'Shopify kept throttling the backfill; it will try again later.', false);
        await wait('throttled', Math.max(250, waitForPointsMs(cost.status, cost.requested ?? q.expectedCost ?? 100)));
        continue;
      }
      if (status === undefined || status === 429 || status >= 500) {
        if (retries >= maxRetries)
          throw new ShopifyAdminError(
            'SHOPIFY_UNAVAILABLE',
            `Shopify's Admin API did not answer (${status ?? 'network error'}) after ${retries + 1} attempts; the backfill will try again later.`,
            false,
          );
        await wait('retry', backoff(retries++));
        continue;
      }
      throw new ShopifyAdminError('SHOPIFY_QUERY_FAILED', `Shopify refused the query: ${first.slice(0, 300)}`, true);
    }
  }

  return { query };
}
export type ShopifyAdminClient = ReturnType<typeof createShopifyAdminClient>;
