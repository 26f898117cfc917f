import type {
  InteractionBatchResult,
  InteractionBody,
  InteractionResponse,
  Newsfeed,
  RecommendBody,
  RecommendResponse,
  SimilarBody,
  SimilarResponse,
} from '../../src/contracts/index.ts';

/**
 * A typed client of Loupe's public API for browsers (publishable key) and servers (secret key). Errors are
 * values (`{ ok: false, error }`), never exceptions; retries follow Retry-After, else exponential backoff; writes
 * carry an Idempotency-Key so a retried write is applied once. Pages that only track never import this file.
 */
export interface ClientOptions {
  /** pk_live_ (browsers) or sk_live_ (servers only). */
  apiKey: string;
  host: string;
  /** Attempts on network errors, 429 and 5xx (default 3). */
  retries?: number;
  fetch?: typeof fetch;
  /** Waits between attempts (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Loupe's error envelope, as a value. `status` 0: the request never got an answer. */
export interface LoupeError {
  status: number;
  code: string;
  message: string;
  requestId?: string;
  details?: unknown;
}
export type Result<T> = { ok: true; data: T } | { ok: false; error: LoupeError };

/** One event of the tracking API (`POST /api/v1/interactions`), as the contracts entry defines it. */
export type InteractionInput = InteractionBody;
export interface SearchHit {
  item_id: string;
  name: string;
  [field: string]: unknown;
}
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function createClient(opts: ClientOptions) {
  const base = opts.host.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retries = opts.retries ?? 3;

  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown, query?: Record<string, unknown>): Promise<Result<T>> {
    const qs = query
      ? new URLSearchParams(
          Object.entries(query)
            .filter(([, v]) => v !== undefined && v !== null)
            .map(([k, v]) => [k, String(v)]),
        ).toString()
      : '';
    const headers: Record<string, string> = { authorization: `Bearer ${opts.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // One key for all attempts of this write: the server applies it once.
    if (method === 'POST') headers['idempotency-key'] = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
    let last: LoupeError = { status: 0, code: 'NETWORK_ERROR', message: 'No answer from Loupe.' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
          method,
          headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (e) {
        last = { status: 0, code: 'NETWORK_ERROR', message: e instanceof Error ? e.message : 'No answer from Loupe.' };
        if (attempt < retries) await sleep(backoff(attempt));
        continue;
      }
      const text = await res.text().catch(() => '');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.ok) return { ok: true, data: json as T };
      const err = (json as { error?: { code?: string; message?: string; request_id?: string; details?: unknown } } | undefined)?.error;
      last = {
        status: res.status,
        code: err?.code ?? `HTTP_${res.status}`,
        message: err?.message ?? res.statusText,
        ...(err?.request_id ? { requestId: err.request_id } : {}),
        ...(err?.details ? { details: err.details } : {}),
      };
      if (!RETRYABLE.has(res.status) || attempt === retries) break;
      const ra = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(ra) && ra >= 0 && res.headers.has('retry-after') ? Math.min(ra, 120) * 1000 : backoff(attempt));
    }
    return { ok: false, error: last };
  }

  return {
    recommendations: (body: RecommendBody) => request<RecommendResponse>('POST', '/api/v1/recommendations', body),
    similar: (body: SimilarBody) => request<SimilarResponse>('POST', '/api/v1/recommendations/similar', body),
    search: (q: string, params: { limit?: number; cursor?: string; category?: string } = {}) =>
      request<Page<SearchHit>>('GET', '/api/v1/items/search', undefined, { q, ...params }),
    autocomplete: (q: string, params: { limit?: number } = {}) =>
      request<{ suggestions: unknown[] }>('GET', '/api/v1/items/autocomplete', undefined, { q, ...params }),
    newsfeed: (params: { user_id: string; cursor?: string }) =>
      request<Newsfeed>('GET', '/api/v1/newsfeed', undefined, params),
    interaction: (body: InteractionInput) => request<InteractionResponse>('POST', '/api/v1/interactions', body),
    interactions: (events: InteractionInput[]) =>
      request<{ results: InteractionBatchResult[] }>('POST', '/api/v1/interactions/batch', { events }),
    /** Any other endpoint of the API (management with a secret key). */
    request,
  };
}
export type Client = ReturnType<typeof createClient>;

/** Full jitter exponential backoff: up to 0.5 s, 1 s, 2 s ... 30 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(30_000, 500 * 2 ** attempt);
}

/**
 * Walks a cursor-paginated list: calls `fetchPage` with each `next_cursor` until there is none, yielding
 * items. Stops at the first error and yields nothing more (check `result` of the last call if needed).
 */
export async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Result<Page<T>>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const r = await fetchPage(cursor);
    if (!r.ok) return;
    yield* r.data.data;
    if (!r.data.next_cursor) return;
    cursor = r.data.next_cursor;
  }
}
