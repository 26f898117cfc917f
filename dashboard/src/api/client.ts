/**
 * The dashboard's one door to the API. It holds the session's access token, sends `X-Tenant-Id` for the chosen
 * tenant, refreshes the access token once on 401 TOKEN_EXPIRED (refresh tokens rotate, so concurrent
 * requests share one refresh, and open tabs share it too through a Web Lock and localStorage), and on 403 STEP_UP_REQUIRED asks the person for their password, calls
 * POST /api/v1/auth/step-up and retries the request with the elevated token.
 *
 * The refresh token never reaches JavaScript: every request says `X-Loupe-Refresh: cookie`, so the server keeps
 * the refresh token in an HttpOnly, SameSite=Strict cookie scoped to the refresh path, and a refresh sends no token.
 */
import type { ApiErrorBody, SessionResponse, TokenResponse } from './types.ts';

const STORAGE_KEY = 'loupe.session';
const TENANT_KEY = 'loupe.tenant';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    readonly requestId?: string,
  ) {
    super(message);
  }
  /** The route does not exist on this server yet (a module that has not landed). */
  get notAvailable(): boolean {
    return this.status === 404 && this.code === 'ROUTE_NOT_FOUND';
  }
}

interface Tokens {
  accessToken: string;
  /** Only in a pair stored by a dashboard older than the cookie: sent once to the refresh, which moves it into the cookie. */
  refreshToken?: string;
}
const REFRESH_MODE = { 'x-loupe-refresh': 'cookie' };

type Listener = () => void;
/** Asks the person for their password; resolves null if they cancel. */
export type StepUpPrompt = (submit: (proof: StepUpProof) => Promise<void>) => Promise<boolean>;
/** What re-confirms a session: the password, or with two-factor sign-in on, a code of the app (or a recovery code). */
export type StepUpProof = { password: string } | { code: string } | { recovery_code: string };

let tokens: Tokens | null = readTokens();
let tenantId: string | null = safeStorage()?.getItem(TENANT_KEY) ?? null;
let refreshing: Promise<boolean> | null = null;
/** Why this tab was signed out without asking (shown on the sign-in page); null after a sign-in. */
export type EndReason = 'expired' | 'ended';
let endReason: EndReason | null = null;
let stepUpPrompt: StepUpPrompt | null = null;
const listeners = new Set<Listener>();

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
function readTokens(): Tokens | null {
  try {
    const raw = safeStorage()?.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}
function saveTokens(next: Tokens | null): void {
  tokens = next;
  if (next) {
    endReason = null;
    safeStorage()?.setItem(STORAGE_KEY, JSON.stringify(next));
  } else safeStorage()?.removeItem(STORAGE_KEY);
  for (const l of listeners) l();
}
/** Signs this tab out because the server ended the session, remembering why for the sign-in page. */
function endSession(reason: EndReason): void {
  saveTokens(null);
  endReason = reason;
}

// Tabs share the pair through localStorage: a refresh or sign-out in one tab is seen by the others.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key !== STORAGE_KEY && e.key !== null) return;
    const next = readTokens();
    if (next?.accessToken === tokens?.accessToken) return;
    tokens = next;
    for (const l of listeners) l();
  });
}

export const session = {
  isSignedIn: (): boolean => tokens !== null,
  endReason: (): EndReason | null => endReason,
  tenantId: (): string | null => tenantId,
  setTenant(id: string | null): void {
    tenantId = id;
    if (id) safeStorage()?.setItem(TENANT_KEY, id);
    else safeStorage()?.removeItem(TENANT_KEY);
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  setStepUpPrompt(p: StepUpPrompt | null): void {
    stepUpPrompt = p;
  },
};

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Send no credentials (sign in, register). */
  anonymous?: boolean;
  headers?: Record<string, string>;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...REFRESH_MODE, ...(opts.headers ?? {}) };
  if (!opts.anonymous && tokens) headers.authorization = `Bearer ${tokens.accessToken}`;
  if (!opts.anonymous && tenantId) headers['x-tenant-id'] = tenantId;
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  return fetch(withQuery(path, opts.query), { method, headers, body, signal: opts.signal, credentials: 'same-origin' });
}

export async function toError(res: Response): Promise<ApiError> {
  let parsed: Partial<ApiErrorBody> | undefined;
  try {
    parsed = (await res.json()) as Partial<ApiErrorBody>;
  } catch {
    /* not JSON */
  }
  const e = parsed?.error;
  return new ApiError(
    res.status,
    e?.code ?? `HTTP_${res.status}`,
    e?.message ?? `The server answered ${res.status}.`,
    e?.details ?? [],
    e?.request_id,
  );
}

/**
 * Runs `fn` holding the dashboard's one refresh lock, shared by every tab of this origin (Web Locks API):
 * while one tab rotates the refresh token, the others wait and then find the new pair in storage.
 * Browsers without the API run `fn` directly; the server's grace window covers that race.
 */
async function withRefreshLock(fn: () => Promise<boolean>): Promise<boolean> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks ? await locks.request('loupe.refresh', fn) : fn();
}

async function refreshTokens(): Promise<boolean> {
  if (!tokens) return false;
  if (!refreshing) {
    const stale = tokens.accessToken;
    refreshing = withRefreshLock(async () => {
      // Another tab may have rotated the pair while this one waited for the lock: use its result.
      const stored = readTokens();
      if (!stored) {
        endSession('ended');
        return false;
      }
      if (stored.accessToken !== stale) {
        saveTokens(stored);
        return true;
      }
      try {
        // The cookie carries the refresh token; a pair stored before the cookie existed sends its token this once.
        const body = stored.refreshToken ? { refresh_token: stored.refreshToken } : {};
        const res = await send('POST', '/api/v1/auth/refresh', { body, anonymous: true });
        if (!res.ok) {
          // A reused token means the server ended the session on purpose; anything else is an expiry.
          endSession((await toError(res)).code === 'REFRESH_TOKEN_REUSED' ? 'ended' : 'expired');
          return false;
        }
        const out = (await res.json()) as TokenResponse;
        saveTokens({ accessToken: out.access_token });
        return true;
      } catch {
        return false;
      }
    }).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function stepUp(): Promise<boolean> {
  if (!stepUpPrompt) return false;
  return stepUpPrompt(async (proof) => {
    const res = await send('POST', '/api/v1/auth/step-up', { body: proof });
    if (!res.ok) throw await toError(res);
    const out = (await res.json()) as { access_token: string };
    if (tokens) saveTokens({ ...tokens, accessToken: out.access_token });
  });
}

/** Sends a request and returns the raw response after the session's refresh and step-up handling. */
export async function requestRaw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const sentWith = tokens?.accessToken;
  let res = await send(method, path, opts);
  if (res.status === 401 && !opts.anonymous) {
    const err = await toError(res.clone());
    if (err.code === 'TOKEN_EXPIRED') {
      // Another tab may already have refreshed (the pair arrived through storage): just retry with it.
      const fresh = tokens !== null && tokens.accessToken !== sentWith;
      if (fresh || (await refreshTokens())) res = await send(method, path, opts);
    } else if (tokens) endSession('ended');
  }
  if (res.status === 403) {
    const err = await toError(res.clone());
    if (err.code === 'STEP_UP_REQUIRED' && (await stepUp())) res = await send(method, path, opts);
    // The store requires two-factor sign-in and this account has none yet: send the person to turn it on.
    else if (err.code === 'TWO_FACTOR_REQUIRED' && !window.location.pathname.startsWith('/settings/security'))
      window.location.assign('/settings/security?required=1');
  }
  return res;
}

/** JSON request; throws ApiError with the server's stable code on any non-2xx answer. */
export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await requestRaw(method, path, opts);
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal): Promise<T> =>
  api<T>('GET', path, { query, signal });

/** A right password for an account with two-factor sign-in: the step token to send with a code. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

/** Signs in with a password; answers the challenge instead when the account needs a second step. */
export async function signIn(email: string, password: string): Promise<TokenResponse | MfaChallenge> {
  const out = await api<TokenResponse | MfaChallenge>('POST', '/api/v1/auth/login', { body: { email, password }, anonymous: true });
  if ('mfa_required' in out) return out;
  return adoptSignIn(out);
}

/** Sign-in's second step: the challenge and a code of the authenticator app (or a recovery code). */
export async function signInSecondStep(mfaToken: string, factor: { code: string } | { recovery_code: string }): Promise<TokenResponse> {
  const out = await api<TokenResponse>('POST', '/api/v1/auth/2fa/verify', { body: { mfa_token: mfaToken, ...factor }, anonymous: true });
  return adoptSignIn(out);
}

function adoptSignIn(out: TokenResponse): TokenResponse {
  saveTokens({ accessToken: out.access_token });
  if (out.user.tenant_id && !tenantId) session.setTenant(out.user.tenant_id);
  return out;
}

/** Keeps the tokens of a sign-in that happened elsewhere (accepting an invitation link answers tokens). */
export function adoptTokens(out: TokenResponse): void {
  saveTokens({ accessToken: out.access_token });
  if (out.user.tenant_id) session.setTenant(out.user.tenant_id);
}

export async function signOut(): Promise<void> {
  try {
    // The answer clears the refresh cookie.
    if (tokens) await send('POST', '/api/v1/auth/logout', { body: {} });
  } finally {
    session.setTenant(null);
    saveTokens(null);
  }
}

export const fetchSession = (): Promise<SessionResponse> => get<SessionResponse>('/api/v1/auth/session');
