/**
 * The one transport of Loupe's Google REST clients (Merchant API, Business Profile APIs): a bearer token per call,
 * JSON in and out, and Google's error conventions read once.
 *
 * Retries (the platform's retrying transport): 429 (quota), 5xx, network errors and a 2xx whose body is not JSON,
 * with full-jitter backoff and at least the server's Retry-After. Other 4xx are final:
 * 400 (and 404, 409, 412) is an outcome with Google's per-field violations (google.rpc.BadRequest), 401/403 mean
 * the token is no longer accepted, 410 that the endpoint is shut down. Outcomes are values, never throws (an
 * aborted `signal` is the one exception: it rethrows).
 */
import { createRetryingFetch, type RetryOptions } from '../../platform/index.ts';

export type GoogleHttpOptions = RetryOptions;

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

function parsedJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export function createGoogleHttp(opts: GoogleHttpOptions = {}) {
  const retryingFetch = createRetryingFetch({ baseDelayMs: 500, ...opts });

  /** One logical call, retried on 429/5xx/network and on a 2xx whose body is not JSON. */
  async function call<T = Record<string, unknown>>(r: GoogleRequest): Promise<GoogleOutcome<T>> {
    const hasBody = r.body !== undefined;
    const isSuccess = (status: number, ok: boolean) => ok || (r.alsoOk?.includes(status) ?? false);
    const last = await retryingFetch(
      r.url,
      {
        method: r.method,
        headers: {
          authorization: `Bearer ${r.token}`,
          accept: 'application/json',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        ...(hasBody ? { body: JSON.stringify(r.body) } : {}),
        signal: r.signal,
      },
      (a) => a.status === 429 || a.status >= 500 || (a.ok && !parsedJson(a.text).ok),
    );
    const calls = last.attempts;
    if (last.kind === 'network') return { ok: false, kind: 'network', status: 0, message: last.message, calls };
    if (isSuccess(last.status, last.ok)) {
      if (!last.ok) return { ok: true, status: last.status, calls, body: {} as T };
      const json = parsedJson(last.text);
      if (json.ok) return { ok: true, status: last.status, calls, body: json.value as T };
      return { ok: false, kind: 'server', status: last.status, message: 'Google answered a body that is not JSON', calls };
    }
    const message = googleMessage(last.text) ?? `HTTP ${last.status}`;
    if (last.status === 429 || last.status >= 500)
      return { ok: false, kind: last.status === 429 ? 'quota' : 'server', status: last.status, message, calls };
    if (last.status === 401 || last.status === 403) return { ok: false, kind: 'unauthorized', status: last.status, message, calls };
    if (last.status === 410) return { ok: false, kind: 'gone', status: 410, message, calls };
    return { ok: false, kind: 'invalid', status: last.status, issues: googleIssues(last.text, message), calls };
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
