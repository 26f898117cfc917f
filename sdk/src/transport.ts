/**
 * The typed client's HTTP layer: one request function with Loupe's error envelope turned into values, retries
 * (Retry-After, else full-jitter exponential backoff) and an Idempotency-Key kept across the attempts of a write.
 * No dependency: `fetch` (browsers, Node 18+), or the one given.
 */
export interface ClientOptions {
  /** pk_live_ (browsers: serving and collection only) or sk_live_ (servers only). */
  apiKey: string;
  /** Loupe's base URL, e.g. https://loupe.example.com */
  host: string;
  /** Further attempts after a network error, 408, 425, 429 or 5xx (default 3). */
  retries?: number;
  /** Longest wait between attempts in ms, whatever Retry-After says (default 30 s). */
  maxRetryDelayMs?: number;
  fetch?: typeof fetch;
  /** Waits between attempts (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Loupe's error envelope, as a value. `status` 0: the request never got an answer. */
export interface LoupeError {
  status: number;
  /** Loupe's stable code (`CATALOG_ITEM_NOT_FOUND`, `RATE_LIMITED`, `ORIGIN_NOT_ALLOWED` ...), or `HTTP_<status>`, or `NETWORK_ERROR`. */
  code: string;
  message: string;
  requestId?: string;
  details?: unknown;
}
export type Result<T> = { ok: true; data: T } | { ok: false; error: LoupeError };

/** A cursor-paginated list, as every Loupe list endpoint answers. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  /** Rows matching the filters on every page, where the endpoint counts them (the sorted tables do). */
  total?: number;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /**
   * Whether repeating the request is harmless (default: true for GET, PUT and DELETE, and for writes keyed by
   * the caller's id). A write that is not (creating a webhook endpoint, starting a training) is retried only
   * when the server said it did nothing (429, 503).
   */
  idempotent?: boolean;
  /** The Idempotency-Key of a write (default a new UUID, the same for all attempts of this call). */
  idempotencyKey?: string;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Answers that say the request was refused before any work: safe to repeat even for a non-idempotent write. */
const NOT_PROCESSED = new Set([429, 503]);

export function randomId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

/** Full-jitter exponential backoff: up to 0.5 s, 1 s, 2 s ... capped. */
function backoff(attempt: number, cap: number): number {
  return Math.random() * Math.min(cap, 500 * 2 ** attempt);
}

/** Retry-After in ms (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return s >= 0 ? s * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export type Transport = <T>(method: Method, path: string, opts?: RequestOptions) => Promise<Result<T>>;

export function createTransport(opts: ClientOptions): Transport {
  const base = opts.host.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retries = opts.retries ?? 3;
  const cap = opts.maxRetryDelayMs ?? 30_000;

  return async function request<T>(method: Method, path: string, o: RequestOptions = {}): Promise<Result<T>> {
    const qs = o.query
      ? new URLSearchParams(
          Object.entries(o.query)
            .filter(([, v]) => v !== undefined && v !== null)
            .map(([k, v]) => [k, String(v)]),
        ).toString()
      : '';
    const headers: Record<string, string> = { authorization: `Bearer ${opts.apiKey}` };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    // One key for all attempts of this write: a server that saw the first applies it once.
    if (method === 'POST' || method === 'PATCH') headers['idempotency-key'] = o.idempotencyKey ?? randomId();
    const idempotent = o.idempotent ?? method !== 'POST';
    let last: LoupeError = { status: 0, code: 'NETWORK_ERROR', message: 'No answer from Loupe.' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
          method,
          headers,
          ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        });
      } catch (e) {
        last = { status: 0, code: 'NETWORK_ERROR', message: e instanceof Error ? e.message : 'No answer from Loupe.' };
        // A lost answer may follow a write that was applied: repeat only what is safe to repeat.
        if (!idempotent) break;
        if (attempt < retries) await sleep(backoff(attempt, cap));
        continue;
      }
      const text = await res.text().catch(() => '');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.ok) return { ok: true, data: (res.status === 204 ? null : json) as T };
      const err = (json as { error?: { code?: string; message?: string; request_id?: string; details?: unknown } } | undefined)?.error;
      last = {
        status: res.status,
        code: err?.code ?? `HTTP_${res.status}`,
        message: err?.message ?? (res.statusText || `HTTP ${res.status}`),
        ...(err?.request_id ? { requestId: err.request_id } : {}),
        ...(err?.details ? { details: err.details } : {}),
      };
      const retryable = idempotent ? RETRYABLE.has(res.status) : NOT_PROCESSED.has(res.status);
      if (!retryable || attempt === retries) break;
      const ra = retryAfterMs(res.headers.get('retry-after'));
      await sleep(ra !== undefined ? Math.min(ra, cap) : backoff(attempt, cap));
    }
    return { ok: false, error: last };
  };
}

/**
 * Walks a cursor-paginated list: calls `fetchPage` with each `next_cursor` until there is none, yielding items.
 * A failed page ends the walk by throwing a `LoupePaginationError` carrying the error value (a `for await` loop
 * cannot return a value), so a partial walk is never mistaken for a complete one.
 */
export async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Result<Page<T>>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const r = await fetchPage(cursor);
    if (!r.ok) throw new LoupePaginationError(r.error);
    yield* r.data.data;
    if (!r.data.next_cursor) return;
    cursor = r.data.next_cursor;
  }
}

/**
 * Walks a sorted list by offset (`sort` pages have no cursor: the server answers `next_cursor: null` for them),
 * from `start`, until a page comes back empty or the walk has reached the page's `total`. A failed page throws a
 * `LoupePaginationError`, as `paginate` does; so does a walk past the server's offset limit (10,000 rows on the
 * sorted tables), so a cut walk is never taken for a whole one.
 */
export async function* paginateOffset<T>(
  fetchPage: (offset: number) => Promise<Result<Page<T>>>,
  start = 0,
): AsyncGenerator<T> {
  let offset = start;
  for (;;) {
    const r = await fetchPage(offset);
    if (!r.ok) throw new LoupePaginationError(r.error);
    const rows = r.data.data;
    yield* rows;
    offset += rows.length;
    if (rows.length === 0 || (r.data.total !== undefined && offset >= r.data.total)) return;
  }
}

/** A page of a `paginate` walk failed; `error` is the page's error value. */
export class LoupePaginationError extends Error {
  constructor(readonly error: LoupeError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'LoupePaginationError';
  }
}
