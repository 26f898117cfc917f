/**
 * Affiliate network product clients: Rakuten Advertising's Product Search API and CJ's GraphQL product API.
 * Each reads every page of one advertiser's products into flat feed records (Google Merchant field names, the
 * shape `validateRecord` checks), so a network import goes through the same validation as an uploaded feed.
 *
 * Rakuten Advertising (LinkShare): `POST {base}/token` with `Authorization: Bearer base64(client_id:client_secret)`
 * (Rakuten's "token key") and the form `scope=<site id>` answers `{ access_token, token_type, expires_in,
 * refresh_token }`; `GET {base}/productsearch/1.0?mid=&max=&pagenumber=[&keyword=]` with the access token answers
 * XML `<result><TotalMatches/><TotalPages/><PageNumber/><item>…</item></result>` (mid, merchantname, linkid, sku,
 * productname, category, price/saleprice with a currency attribute, upccode, linkurl, imageurl).
 *
 * CJ: `POST {base}/query` (ads.api.cj.com) with `Authorization: Bearer <personal access token>` and a GraphQL body;
 * `shoppingProducts(companyId, partnerIds, limit, offset)` answers `{ totalCount, count, limit, resultList }`
 * (Shopping: id, title, brand, gtin, mpn, price/salePrice { amount currency }, availability, link, imageLink).
 * GraphQL errors come as `{ errors: [...] }`; a refused token as HTTP 401 (or 403).
 *
 * Transport (the platform's retrying transport): 429, 5xx and network errors are retried with jittered backoff and
 * at least the server's Retry-After (seconds or an HTTP date); 401/403 are final and reported as `NetworkAuthError` (credentials expired or revoked).
 * Everything is read before anything is written: a run that fails on page 7 changes no price.
 */
import { XMLParser } from 'fast-xml-parser';
import { createRetryingFetch, type RetryInfo, type RetryOptions } from '../../platform/index.ts';
import type { FeedRecord } from './feed.core.ts';

export class NetworkAuthError extends Error {}
export class NetworkError extends Error {}

/** The transport's options; `onRetry` is told which request is retried (a run's log shows it). */
export type NetworkHttpOptions = Omit<RetryOptions, 'onRetry'> & { onRetry?: (info: RetryInfo & { what: string }) => void };

function createTransport({ onRetry, ...opts }: NetworkHttpOptions) {
  const options = { baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 60_000, ...opts };
  const plain = createRetryingFetch(options);
  /** One request's body text, retried on 429/5xx/network errors; 401/403 throw NetworkAuthError, other 4xx NetworkError. */
  return async function request(url: string, init: RequestInit, what: string): Promise<string> {
    const retryingFetch = onRetry ? createRetryingFetch({ ...options, onRetry: (i) => onRetry({ ...i, what }) }) : plain;
    const last = await retryingFetch(url, init);
    if (last.kind === 'network') throw new NetworkError(`${what}: ${last.message} (gave up after ${last.attempts} attempts)`);
    if (last.ok) return last.text;
    if (last.status === 401 || last.status === 403)
      throw new NetworkAuthError(`${what}: the network refused the credentials (HTTP ${last.status})`);
    if (last.status !== 429 && last.status < 500) throw new NetworkError(`${what}: HTTP ${last.status} ${last.text.slice(0, 300)}`.trim());
    throw new NetworkError(`${what}: HTTP ${last.status} (gave up after ${last.attempts} attempts)`);
  };
}

const jsonOrNull = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

export interface NetworkPage {
  records: FeedRecord[];
  /** Pages the network says there are (Rakuten) or records in all (CJ), for progress. */
  total: number | null;
}

export interface RakutenSettings {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The publisher's site id (SID): the token's scope. */
  sid: string;
  /** The advertiser (merchant) id whose products are imported. */
  mid: string;
  keyword?: string | null | undefined;
  /** Products per page (Rakuten allows at most 100). */
  pageSize?: number;
  /** Stops after this many pages (a guard against an endless paging answer). */
  maxPages?: number;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (name, jpath) => jpath === 'result.item' || name === 'item',
});

const textOf = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') {
    const t = (v as Record<string, unknown>)['#text'];
    return t === undefined || t === null ? null : String(t);
  }
  const s = String(v).trim();
  return s === '' ? null : s;
};

/** One Rakuten `<item>` as a feed record: sale price wins; linkid (else sku) is the offer's external id. */
export function rakutenItemRecord(item: Record<string, unknown>): FeedRecord {
  const price = (k: string) => {
    const v = item[k] as unknown;
    const amount = textOf(v);
    const currency = v && typeof v === 'object' ? textOf((v as Record<string, unknown>)['@_currency']) : null;
    return amount ? `${amount}${currency ? ` ${currency}` : ''}` : null;
  };
  const category = item.category as Record<string, unknown> | undefined;
  const rec: FeedRecord = {
    id: textOf(item.linkid) ?? textOf(item.sku),
    title: textOf(item.productname),
    price: price('price'),
    sale_price: price('saleprice'),
    gtin: textOf(item.upccode),
    link: textOf(item.linkurl),
    image_link: textOf(item.imageurl),
    sku: textOf(item.sku),
    merchant: textOf(item.merchantname),
    category: category ? textOf(category.primary) : null,
  };
  for (const k of Object.keys(rec)) if (rec[k] === null) delete rec[k];
  return rec;
}

/** Rakuten Advertising Product Search: every page of one advertiser's products. */
export function rakutenClient(s: RakutenSettings, http: NetworkHttpOptions = {}) {
  const request = createTransport(http);
  const base = s.baseUrl.replace(/\/+$/, '');
  const pageSize = Math.min(100, Math.max(1, s.pageSize ?? 100));
  const maxPages = s.maxPages ?? 1000;
  let token: string | null = null;

  async function fetchToken(): Promise<string> {
    const res = await request(
      `${base}/token`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ scope: s.sid }).toString(),
      },
      'Rakuten token',
    ).catch((err: unknown) => {
      // The token endpoint answers 400 invalid_grant/invalid_client for bad or revoked credentials.
      if (err instanceof NetworkError && /HTTP 400/.test(err.message))
        throw new NetworkAuthError('Rakuten token: the network refused the credentials (HTTP 400)');
      throw err;
    });
    const body = jsonOrNull(res) as { access_token?: unknown } | null;
    if (!body || typeof body.access_token !== 'string' || !body.access_token)
      throw new NetworkError('Rakuten token: the answer has no access_token');
    return body.access_token;
  }

  async function page(n: number): Promise<{ records: FeedRecord[]; totalPages: number }> {
    const q = new URLSearchParams({ mid: s.mid, max: String(pageSize), pagenumber: String(n) });
    if (s.keyword) q.set('keyword', s.keyword);
    const get = async () =>
      request(
        `${base}/productsearch/1.0?${q}`,
        { headers: { authorization: `Bearer ${token}`, accept: 'application/xml' } },
        `Rakuten product search page ${n}`,
      );
    token ??= await fetchToken();
    let res: string;
    try {
      res = await get();
    } catch (err) {
      // An access token lives an hour: a long run asks for a new one once; refused again, the credentials are bad.
      if (!(err instanceof NetworkAuthError)) throw err;
      token = await fetchToken();
      res = await get();
    }
    let doc: { result?: { TotalPages?: unknown; item?: Record<string, unknown>[]; Errors?: unknown } };
    try {
      doc = xml.parse(res) as typeof doc;
    } catch (err) {
      throw new NetworkError(`Rakuten product search page ${n}: the answer is not XML (${(err as Error).message.slice(0, 100)})`);
    }
    if (!doc.result) throw new NetworkError(`Rakuten product search page ${n}: the answer has no <result>`);
    const totalPages = Number(textOf(doc.result.TotalPages) ?? '0');
    return { records: (doc.result.item ?? []).map(rakutenItemRecord), totalPages: Number.isFinite(totalPages) ? totalPages : 0 };
  }

  return {
    async *pages(): AsyncGenerator<NetworkPage> {
      for (let n = 1; n <= maxPages; n++) {
        const p = await page(n);
        yield { records: p.records, total: p.totalPages };
        if (n >= p.totalPages || !p.records.length) return;
      }
    },
  };
}

export interface CjSettings {
  baseUrl: string;
  /** The personal access token. */
  token: string;
  /** The publisher's company id (CID). */
  companyId: string;
  /** The advertiser ids whose products are imported. */
  partnerIds: readonly string[];
  pageSize?: number;
  maxPages?: number;
}

const CJ_QUERY = `query Products($companyId: ID!, $partnerIds: [ID!], $limit: Int, $offset: Int) {
  shoppingProducts(companyId: $companyId, partnerIds: $partnerIds, limit: $limit, offset: $offset) {
    totalCount count limit
    resultList { id title brand gtin mpn availability link imageLink advertiserId advertiserName
      price { amount currency } salePrice { amount currency } }
  }
}`;

interface CjMoney {
  amount?: unknown;
  currency?: unknown;
}
/** One CJ Shopping product as a feed record (availability IN_STOCK → in stock, and so on). */
export function cjProductRecord(p: Record<string, unknown>): FeedRecord {
  const money = (m: unknown) => {
    const v = m as CjMoney | null | undefined;
    return v && v.amount !== undefined && v.amount !== null ? `${String(v.amount)}${v.currency ? ` ${String(v.currency)}` : ''}` : null;
  };
  const rec: FeedRecord = {
    id: p.id ?? null,
    title: p.title ?? null,
    brand: p.brand ?? null,
    gtin: p.gtin ?? null,
    mpn: p.mpn ?? null,
    price: money(p.price),
    sale_price: money(p.salePrice),
    availability: typeof p.availability === 'string' ? p.availability.toLowerCase() : null,
    link: p.link ?? null,
    image_link: p.imageLink ?? null,
    advertiser: p.advertiserName ?? null,
  };
  for (const k of Object.keys(rec)) if (rec[k] === null || rec[k] === undefined) delete rec[k];
  return rec;
}

/** CJ's product API: every page (offset paging) of the partners' shopping products. */
export function cjClient(s: CjSettings, http: NetworkHttpOptions = {}) {
  const request = createTransport(http);
  const url = `${s.baseUrl.replace(/\/+$/, '')}/query`;
  const pageSize = Math.min(1000, Math.max(1, s.pageSize ?? 500));
  const maxPages = s.maxPages ?? 1000;
  return {
    async *pages(): AsyncGenerator<NetworkPage> {
      let offset = 0;
      for (let n = 1; n <= maxPages; n++) {
        const res = await request(
          url,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({
              query: CJ_QUERY,
              variables: { companyId: s.companyId, partnerIds: s.partnerIds, limit: pageSize, offset },
            }),
          },
          `CJ products at offset ${offset}`,
        );
        const body = jsonOrNull(res) as {
          data?: { shoppingProducts?: { totalCount?: number; count?: number; resultList?: Record<string, unknown>[] } | null };
          errors?: { message?: string; extensions?: { code?: string } }[];
        } | null;
        if (body?.errors?.length) {
          const msg = body.errors
            .map((e) => e.message ?? 'error')
            .join('; ')
            .slice(0, 300);
          if (
            body.errors.some(
              (e) => /UNAUTHENTICATED|FORBIDDEN/i.test(e.extensions?.code ?? '') || /unauthori[sz]ed|token/i.test(e.message ?? ''),
            )
          )
            throw new NetworkAuthError(`CJ products: the network refused the credentials (${msg})`);
          throw new NetworkError(`CJ products: ${msg}`);
        }
        const r = body?.data?.shoppingProducts;
        if (!r || !Array.isArray(r.resultList)) throw new NetworkError('CJ products: the answer has no data.shoppingProducts');
        const total = typeof r.totalCount === 'number' ? r.totalCount : null;
        yield { records: r.resultList.map(cjProductRecord), total };
        offset += r.resultList.length;
        if (!r.resultList.length || (total !== null && offset >= total)) return;
      }
    },
  };
}
