/**
 * The one retrying HTTP transport of Loupe's outbound clients (Google's REST APIs, the affiliate networks, the
 * Shopify Admin API's backoff): what to retry and how long to wait, with each vendor's error mapping left to its
 * client.
 *
 * - A call is retried on a network error, on 429 and on 5xx (or on what `retryable` says), at most `maxRetries`
 *   times after the first.
 * - The wait before retry n (0-based) is drawn uniformly from [0, min(maxDelay, base * 2^n)] ("full jitter": many
 *   clients failing together do not come back together), and is at least what the server asked with
 *   Retry-After (in seconds or as an HTTP date), capped at maxDelay.
 * - Every attempt has its own timeout; an aborted caller `signal` ends the call at once (the abort reason is
 *   thrown, never retried).
 * - The body is read as text within the attempt, so a vendor's error answer is always consumed.
 */
export interface RetryOptions {
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) source for the jitter (tests pass a seeded one). */
  random?: () => number;
  /** Retries after the first call (default 4). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Told before each wait: the failed attempt (1-based), why it failed (`HTTP 500`, a network error) and the wait. */
  onRetry?: (info: RetryInfo) => void;
}

/** A retry about to happen (RetryOptions.onRetry). */
export interface RetryInfo {
  attempt: number;
  reason: string;
  delayMs: number;
}

/** The last attempt of a call: an answer (any status), or the network error that stopped it. */
export type Fetched =
  | { kind: 'response'; status: number; ok: boolean; headers: Headers; text: string; attempts: number }
  | { kind: 'network'; message: string; attempts: number };
export type FetchedResponse = Extract<Fetched, { kind: 'response' }>;

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), or null. */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d{1,6}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** The full-jitter wait before retry `attempt` (0-based). */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const retryableStatus = (r: FetchedResponse) => r.status === 429 || r.status >= 500;

export function createRetryingFetch(opts: RetryOptions = {}) {
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? abortableSleep;
  const random = opts.random ?? Math.random;
  const maxRetries = opts.maxRetries ?? 4;
  const base = opts.baseDelayMs ?? 1000;
  const cap = opts.maxDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  /** One logical call; answers its last attempt (a success, a final refusal, or what was left when retries ran out). */
  return async function retryingFetch(
    url: string,
    init: RequestInit = {},
    retryable: (r: FetchedResponse) => boolean = retryableStatus,
  ): Promise<Fetched> {
    const caller = init.signal ?? undefined;
    let last: Fetched = { kind: 'network', message: 'not called', attempts: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const attempts = attempt + 1;
      const timeout = AbortSignal.timeout(timeoutMs);
      let wait: number | null = null;
      try {
        const res = await doFetch(url, { ...init, signal: caller ? AbortSignal.any([caller, timeout]) : timeout });
        const text = await res.text();
        last = { kind: 'response', status: res.status, ok: res.ok, headers: res.headers, text, attempts };
        if (!retryable(last)) return last;
        wait = retryAfterMs(res.headers.get('retry-after'));
      } catch (err) {
        if (caller?.aborted) throw caller.reason ?? err;
        last = { kind: 'network', message: (err as Error).message.slice(0, 200), attempts };
      }
      if (attempt < maxRetries) {
        const delayMs = Math.max(Math.min(cap, wait ?? 0), backoffMs(attempt, base, cap, random));
        opts.onRetry?.({ attempt: attempts, reason: last.kind === 'response' ? `HTTP ${last.status}` : last.message, delayMs });
        await sleep(delayMs, caller);
      }
    }
    return last;
  };
}
