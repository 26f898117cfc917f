/**
 * A client of Google's Merchant API (products sub-API, v1): product inputs are inserted and deleted one per
 * call (the Content API's custombatch is gone with the Content API, which answers 410 since August 2026).
 * Transport, retries (429/5xx with backoff and jitter) and Google's error bodies: `google.http.client.ts`.
 * 400 is a per-item outcome with Google's field violations, 401/403 mean the token is no longer accepted
 * (consent withdrawn), 410 that the endpoint is shut down. Outcomes are values, never throws.
 */
import { createGoogleHttp, type GoogleHttpOptions } from './google.http.client.ts';

export interface MerchantClientOptions extends GoogleHttpOptions {
  /** e.g. https://merchantapi.googleapis.com (tests: a local server). */
  baseUrl: string;
}

export interface MerchantIssue {
  field: string;
  message: string;
}

export type MerchantOutcome =
  | { ok: true; status: number; calls: number }
  | { ok: false; kind: 'item'; status: number; issues: MerchantIssue[]; calls: number }
  | { ok: false; kind: 'unauthorized' | 'gone'; status: number; message: string; calls: number }
  | { ok: false; kind: 'quota' | 'server' | 'network'; status: number; message: string; calls: number };

/** A ProductInput of the Merchant API v1 (the attributes Loupe sends). */
export interface ProductInput {
  offerId: string;
  contentLanguage: string;
  feedLabel: string;
  productAttributes: Record<string, unknown>;
}

export interface MerchantTarget {
  merchantId: string;
  dataSourceId: string;
}

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** The product input's resource id: `contentLanguage~feedLabel~offerId`, unpadded base64url (always safe in a URL). */
export const productInputId = (contentLanguage: string, feedLabel: string, offerId: string): string =>
  b64url(`${contentLanguage}~${feedLabel}~${offerId}`);

export function createMerchantClient(opts: MerchantClientOptions) {
  const base = opts.baseUrl.replace(/\/$/, '');
  const http = createGoogleHttp(opts);

  async function call(
    method: 'POST' | 'DELETE',
    url: string,
    token: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<MerchantOutcome> {
    const out = await http.call({ method, url, token, body, signal, alsoOk: method === 'DELETE' ? [404] : [] });
    if (out.ok) return { ok: true, status: out.status, calls: out.calls };
    if (out.kind === 'invalid') return { ok: false, kind: 'item', status: out.status, issues: out.issues, calls: out.calls };
    return out;
  }

  return {
    /** accounts.productInputs.insert: creates or replaces the input with the same language, label and offer id. */
    insert: (token: string, t: MerchantTarget, input: ProductInput, signal?: AbortSignal) =>
      call(
        'POST',
        `${base}/products/v1/accounts/${encodeURIComponent(t.merchantId)}/productInputs:insert?dataSource=${encodeURIComponent(
          `accounts/${t.merchantId}/dataSources/${t.dataSourceId}`,
        )}`,
        token,
        input,
        signal,
      ),
    /** accounts.productInputs.delete; an input already gone (404) counts as deleted. */
    delete: (token: string, t: MerchantTarget, id: { contentLanguage: string; feedLabel: string; offerId: string }, signal?: AbortSignal) =>
      call(
        'DELETE',
        `${base}/products/v1/accounts/${encodeURIComponent(t.merchantId)}/productInputs/${productInputId(
          id.contentLanguage,
          id.feedLabel,
          id.offerId,
        )}?dataSource=${encodeURIComponent(`accounts/${t.merchantId}/dataSources/${t.dataSourceId}`)}`,
        token,
        undefined,
        signal,
      ),
  };
}
export type MerchantClient = ReturnType<typeof createMerchantClient>;
