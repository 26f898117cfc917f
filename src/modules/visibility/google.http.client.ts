/**
 * The one transport of Loupe's Google REST clients (Merchant API, Business Profile APIs): a bearer token per call,
 * JSON in and out, and Google's error conventions read once.
 *
 * Retries: 429 (quota) and 5xx are retried with exponential backoff and full jitter (delay drawn uniformly from
 * [0, min(cap, base * 2^attempt)], at least the server's Retry-After); network errors too. Other 4xx are final:
 * 400 (and 404, 409, 412) is an outcome with Google's per-field violations (google.rpc.BadRequest), 401/403 mean
 * the token is no longer accepted, 410 that the endpoint is shut down. Outcomes are values, never throws (an
 * aborted `signal` is the one exception: it rethrows).
 */
export interface GoogleHttpOptions {
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

export interface GoogleFieldIssue {
  field: string;
  message: string;
}

export type GoogleOutcome<T> =
  | { ok: true; status: number; calls: number; body: T }
  | { ok: false; kind: 'invalid'; status: number; issues: GoogleFieldIssue[]; calls: number }
  | { ok: false; kind: 'unauthorized' | 'gone'; status: number; message: string; calls: number }
  | { ok: false; kind: 'quota' | 'server' | 'network'; status: number; message: string; calls: number };

export interface GoogleRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  token: string;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Statuses besides 2xx that count as success (a DELETE of something already gone answers 404). */
  alsoOk?: readonly number[];
}

export function createGoogleHttp(opts: GoogleHttpOptions = {}) {
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const maxRetries = opts.maxRetries ?? 4;
  const baseDelay = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  async function backoff(attempt: number, retryAfter: string | null | undefined): Promise<void> {
    const cap = Math.min(maxDelay, baseDelay * 2 ** attempt);
    const server = retryAfter && /^\d{1,5}$/.test(retryAfter) ? Math.min(maxDelay, Number(retryAfter) * 1000) : 0;
    await sleep(Math.max(server, Math.floor(random() * cap)));
  }

  /** One logical call, retried on 429/5xx/network; the body of a success is parsed JSON (`{}` when empty). */
  async function call<T = Record<string, unknown>>(r: GoogleRequest): Promise<GoogleOutcome<T>> {
    let last: GoogleOutcome<T> = { ok: false, kind: 'network', status: 0, message: 'not called', calls: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const calls = attempt + 1;
      let res: Response;
      const hasBody = r.body !== undefined;
      try {
        res = await doFetch(r.url, {
          method: r.method,
          headers: {
            authorization: `Bearer ${r.token}`,
            accept: 'application/json',
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
          },
          ...(hasBody ? { body: JSON.stringify(r.body) } : {}),
          signal: r.signal ? AbortSignal.any([r.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        if (r.signal?.aborted) throw err;
        last = { ok: false, kind: 'network', status: 0, message: (err as Error).message.slice(0, 200), calls };
        if (attempt < maxRetries) await backoff(attempt, undefined);
        continue;
      }
      const text = await res.text();
      if (res.ok || r.alsoOk?.includes(res.status)) {
        let body = {} as T;
        if (res.ok && text.trim()) {
          try {
            body = JSON.parse(text) as T;
          } catch {
            last = { ok: false, kind: 'server', status: res.status, message: 'Google answered a body that is not JSON', calls };
            if (attempt < maxRetries) await backoff(attempt, undefined);
            continue;
          }
        }
        return { ok: true, status: res.status, calls, body };
      }
      const message = googleMessage(text) ?? `HTTP ${res.status}`;
      if (res.status === 429 || res.status >= 500) {
        last = { ok: false, kind: res.status === 429 ? 'quota' : 'server', status: res.status, message, calls };
        if (attempt < maxRetries) await backoff(attempt, res.headers.get('retry-after'));
        continue;
      }
      if (res.status === 401 || res.status === 403) return { ok: false, kind: 'unauthorized', status: res.status, message, calls };
      if (res.status === 410) return { ok: false, kind: 'gone', status: 410, message, calls };
      return { ok: false, kind: 'invalid', status: res.status, issues: googleIssues(text, message), calls };
    }
    return last;
  }
  return { call };
}

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
function googleIssues(text: string, message: string): GoogleFieldIssue[] {
  const out: GoogleFieldIssue[] = [];
  for (const d of parse(text)?.error?.details ?? []) {
    for (const v of d.fieldViolations ?? []) {
      out.push({ field: String(v.field ?? '').slice(0, 200), message: String(v.description ?? '').slice(0, 500) });
    }
  }
  return out.length ? out.slice(0, 50) : [{ field: '', message }];
}
