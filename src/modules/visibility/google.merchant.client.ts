/**
 * A client of Google's Merchant API (products sub-API, v1): product inputs are inserted and deleted one per
 * call (the Content API's custombatch is gone with the Content API, which answers 410 since August 2026).
 *
 * Retries: 429 (quota) and 5xx are retried with exponential backoff and full jitter (delay drawn uniformly
 * from [0, min(cap, base * 2^attempt)], at least the server's Retry-After); network errors too. Other 4xx
 * are final: 400 is a per-item outcome with Google's field violations, 401/403 mean the token is no longer
 * accepted (consent withdrawn), 410 that the endpoint is shut down. Outcomes are values, never throws.
 */
export interface MerchantClientOptions {
  /** e.g. https://merchantapi.googleapis.com (tests: a local server). */
  baseUrl: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Uniform [0, 1) source for jitter (tests pass a seeded one). */
  random?: () => number;
  /** Retries after the first call (default 4). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
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
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const maxRetries = opts.maxRetries ?? 4;
  const baseDelay = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  async function call(
    method: 'POST' | 'DELETE',
    url: string,
    token: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<MerchantOutcome> {
    let last: MerchantOutcome = { ok: false, kind: 'network', status: 0, message: 'not called', calls: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const calls = attempt + 1;
      let res: Response;
      try {
        res = await doFetch(url, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        last = { ok: false, kind: 'network', status: 0, message: (err as Error).message.slice(0, 200), calls };
        await backoff(attempt, undefined);
        continue;
      }
      const text = await res.text();
      if (res.ok || (method === 'DELETE' && res.status === 404)) return { ok: true, status: res.status, calls };
      const message = googleMessage(text) ?? `HTTP ${res.status}`;
      if (res.status === 429 || res.status >= 500) {
        last = { ok: false, kind: res.status === 429 ? 'quota' : 'server', status: res.status, message, calls };
        if (attempt < maxRetries) await backoff(attempt, res.headers.get('retry-after'));
        continue;
      }
      if (res.status === 401 || res.status === 403) return { ok: false, kind: 'unauthorized', status: res.status, message, calls };
      if (res.status === 410) return { ok: false, kind: 'gone', status: 410, message, calls };
      return { ok: false, kind: 'item', status: res.status, issues: googleIssues(text, message), calls };
    }
    return last;
  }

  async function backoff(attempt: number, retryAfter: string | null | undefined): Promise<void> {
    const cap = Math.min(maxDelay, baseDelay * 2 ** attempt);
    const server = retryAfter && /^\d{1,5}$/.test(retryAfter) ? Math.min(maxDelay, Number(retryAfter) * 1000) : 0;
    await sleep(Math.max(server, Math.floor(random() * cap)));
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

interface GoogleErrorBody {
  error?: {
    message?: unknown;
    details?: { fieldViolations?: { field?: unknown; description?: unknown }[] }[];
  };
}

function parse(text: string): GoogleErrorBody | undefined {
  try {
    return JSON.parse(text) as GoogleErrorBody;
  } catch {
    return undefined;
  }
}

function googleMessage(text: string): string | undefined {
  const m = parse(text)?.error?.message;
  return typeof m === 'string' ? m.slice(0, 500) : undefined;
}

/** Field violations of a google.rpc.BadRequest detail, else the error message as one issue. */
function googleIssues(text: string, message: string): MerchantIssue[] {
  const out: MerchantIssue[] = [];
  for (const d of parse(text)?.error?.details ?? []) {
    for (const v of d.fieldViolations ?? []) {
      out.push({ field: String(v.field ?? '').slice(0, 200), message: String(v.description ?? '').slice(0, 500) });
    }
  }
  return out.length ? out.slice(0, 50) : [{ field: '', message }];
}
