import { createQueue, type QueuedEvent } from './queue.ts';

/**
 * Segment's calls (`track`, `page`, `identify`, `alias`, `group`) delivered to Loupe's Segment-compatible
 * `/v1/batch`: batched (10 events or 5 s), retried with backoff (and the server's Retry-After), queued in local
 * storage while offline (capped), sent with `sendBeacon` on `pagehide`. Every event carries a `messageId`, and
 * the server stores each message id once, so re-sending after a reload or an unconfirmed beacon is safe.
 * No call throws into the host page.
 */
export interface TrackerOptions {
  /** A publishable key (pk_live_...) whose allowed origins include this site. */
  writeKey: string;
  /** Loupe's base URL, e.g. https://loupe.example.com */
  host: string;
  /** Send when this many events wait (default 10). */
  flushAt?: number;
  /** ... or after this many milliseconds (default 5000). */
  flushInterval?: number;
  /** Offline queue caps (defaults 1000 events, 400 kB). */
  maxQueueEvents?: number;
  maxQueueBytes?: number;
  /**
   * When true, nothing is stored or sent until `consent.grant(...)` allows an event's category; events of
   * categories not granted are dropped. Default false (all categories allowed).
   */
  requireConsent?: boolean;
  /** Local storage and cookie name prefix (default `loupe`). */
  storagePrefix?: string;
  /**
   * The visitor's country, ISO 3166-1 alpha-2 (`FR`), when the site knows it (its own geo lookup, the shipping
   * address): sent by `startSession`. Never guessed: without it (or `countryFromLocale`) no country is sent, and the
   * server uses its trusted proxy's country header if one is configured. A value that is not two letters is ignored.
   */
  country?: string;
  /**
   * Opt-in: without `country`, use the region of the browser's language (`fr-CA` -> `CA`). That is a language
   * setting, not where the visitor is; a language without a region (`fr`) sends no country.
   */
  countryFromLocale?: boolean;
}

export interface CallOptions {
  /** Consent category of this event (default `analytics`). */
  category?: string;
  timestamp?: Date;
}

type Dict = Record<string, unknown>;

const SESSION_IDLE_MS = 30 * 60 * 1000;
/** The browser's budget for a beacon (and all keepalive requests in flight) is 64 kB; stay under it. */
const BEACON_MAX_BYTES = 60_000;
const BATCH_MAX_EVENTS = 100;
const UTM = ['source', 'medium', 'campaign', 'term', 'content'] as const;

/** An ISO 3166-1 alpha-2 code, upper-cased, or undefined when `v` is not two letters. */
const countryCode = (v: string | undefined): string | undefined => (v && /^[a-z]{2}$/i.test(v) ? v.toUpperCase() : undefined);
/** The region of a BCP 47 language tag (`fr-CA` -> `CA`, `zh-Hant-TW` -> `TW`), if it has one. */
const localeRegion = (tag: string | undefined): string | undefined =>
  countryCode(tag?.split('-').find((p, i) => i > 0 && p.length === 2));

/** A random id (UUID v4 where crypto.randomUUID exists). */
export function uuid(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

function safe<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R | undefined {
  return (...a: A) => {
    try {
      return fn(...a);
    } catch {
      return undefined;
    }
  };
}

function store(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

export function createTracker(opts: TrackerOptions) {
  const prefix = opts.storagePrefix ?? 'loupe';
  const flushAt = opts.flushAt ?? 10;
  const flushInterval = opts.flushInterval ?? 5000;
  const host = opts.host.replace(/\/+$/, '');
  const endpoint = `${host}/v1/batch?write_key=${encodeURIComponent(opts.writeKey)}`;
  const granted = new Set<string>();
  let consentRequired = !!opts.requireConsent;
  let userId: string | null = null;
  let anonymousId: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending = false;
  let attempt = 0;
  let retryAt = 0;
  let queue: ReturnType<typeof createQueue> | undefined;

  const allowed = (category: string) => !consentRequired || granted.has(category);
  const mayStore = () => !consentRequired || granted.size > 0;

  function q() {
    queue ??= createQueue(`${prefix}.queue`, { maxEvents: opts.maxQueueEvents ?? 1000, maxBytes: opts.maxQueueBytes ?? 400_000 });
    return queue;
  }

  function readCookie(name: string): string | null {
    const m = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return m ? decodeURIComponent(m[1]!) : null;
  }
  let persisted = false;
  function anonId(): string {
    const s = store();
    anonymousId ??= readCookie(`${prefix}_aid`) ?? s?.getItem(`${prefix}.aid`) ?? uuid();
    // Stored once consent allows it, even when the id was first read before (it is not frozen unstored).
    if (!persisted && mayStore()) {
      // First-party cookie and local storage: either survives the other being cleared.
      document.cookie = `${prefix}_aid=${encodeURIComponent(anonymousId)}; path=/; max-age=31536000; samesite=lax${location.protocol === 'https:' ? '; secure' : ''}`;
      s?.setItem(`${prefix}.aid`, anonymousId);
      persisted = true;
    }
    return anonymousId;
  }
  function sessionId(now: number): string {
    const s = store();
    const raw = s?.getItem(`${prefix}.session`);
    let session: { id: string; at: number; utm?: Dict } | undefined;
    try {
      session = raw ? JSON.parse(raw) : undefined;
    } catch {
      session = undefined;
    }
    if (!session || now - session.at > SESSION_IDLE_MS) session = { id: uuid(), at: now };
    const utm = utmOf(location.search);
    if (utm) session.utm = utm; // a new campaign click starts counting from here
    session.at = now;
    if (mayStore()) s?.setItem(`${prefix}.session`, JSON.stringify(session));
    currentUtm = session.utm;
    return session.id;
  }
  let currentUtm: Dict | undefined;
  function utmOf(search: string): Dict | undefined {
    const p = new URLSearchParams(search);
    const out: Dict = {};
    for (const k of UTM) {
      const v = p.get(`utm_${k}`);
      if (v) out[k === 'campaign' ? 'name' : k] = v.slice(0, 200);
    }
    return Object.keys(out).length ? out : undefined;
  }

  function schedule(delay: number): void {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, delay);
  }

  function enqueue(type: string, fields: Dict, o: CallOptions = {}): void {
    const category = o.category ?? 'analytics';
    if (!allowed(category)) return;
    const now = Date.now();
    const context: Dict = {
      library: { name: 'loupe-sdk', version: '0.1.0' },
      page: { url: location.href, path: location.pathname, title: document.title, referrer: document.referrer },
      userAgent: navigator.userAgent,
      locale: navigator.language,
      session_id: sessionId(now),
      consent: { category },
    };
    if (currentUtm) context.campaign = currentUtm;
    const message: QueuedEvent = {
      type,
      messageId: uuid(),
      anonymousId: anonId(),
      ...(userId ? { userId } : {}),
      timestamp: (o.timestamp ?? new Date(now)).toISOString(),
      context,
      ...fields,
    };
    q().add(message);
    if (q().length >= flushAt) void flush();
    else schedule(flushInterval);
  }

  /** Sends what waits, a batch at a time, until the queue is empty or a send fails (then backs off). */
  async function flush(): Promise<void> {
    if (sending || !queue || !queue.length) return;
    if (Date.now() < retryAt) return schedule(retryAt - Date.now());
    if (typeof navigator !== 'undefined' && navigator.onLine === false) return; // the 'online' event resumes
    sending = true;
    try {
      while (queue.length) {
        const batch = queue.peek(BATCH_MAX_EVENTS, BEACON_MAX_BYTES);
        const delay = await send(batch);
        if (delay !== 0) {
          attempt++;
          const backoff = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
          retryAt = Date.now() + Math.max(delay ?? 0, backoff);
          schedule(retryAt - Date.now());
          return;
        }
        attempt = 0;
      }
    } finally {
      sending = false;
    }
  }

  /** 0 when the batch is done with (stored, or refused for good); otherwise the server's Retry-After in ms, or undefined. */
  async function send(batch: QueuedEvent[]): Promise<number | undefined> {
    const sentAt = new Date().toISOString();
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ batch, sentAt }),
      });
    } catch {
      return undefined; // offline or unreachable: keep the events
    }
    if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403 && res.status !== 408 && res.status !== 429)) {
      // Stored (per-message refusals are final too) or malformed for good: either way, never resent.
      queue!.ack(new Set(batch.map((e) => e.messageId)));
      return 0;
    }
    const ra = Number(res.headers.get('retry-after'));
    return Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined;
  }

  /**
   * On `pagehide`: one beacon with the oldest events that fit in 60 kB. They stay queued: the next page sends
   * them again unless a fetch confirmed them, and the server keeps each message id once.
   */
  function beacon(): void {
    if (!queue || !queue.length || typeof navigator.sendBeacon !== 'function') return;
    const batch = queue.peek(BATCH_MAX_EVENTS * 5, BEACON_MAX_BYTES - 200);
    navigator.sendBeacon(endpoint, new Blob([JSON.stringify({ batch, sentAt: new Date().toISOString() })], { type: 'text/plain' }));
  }

  if (typeof window !== 'undefined') {
    addEventListener('pagehide', safe(beacon));
    addEventListener(
      'visibilitychange',
      safe(() => {
        if (document.visibilityState === 'hidden') beacon();
      }),
    );
    addEventListener(
      'online',
      safe(() => {
        retryAt = 0;
        void flush();
      }),
    );
    // Events a previous page left behind.
    if (mayStore()) {
      q();
      schedule(0);
    }
  }

  const api = {
    track: safe((event: string, properties: Dict = {}, o?: CallOptions) => enqueue('track', { event, properties }, o)),
    page: safe((name?: string, properties: Dict = {}, o?: CallOptions) =>
      enqueue(
        'page',
        { ...(name ? { name } : {}), properties: { url: location.href, path: location.pathname, title: document.title, ...properties } },
        o,
      ),
    ),
    identify: safe((id: string | null, traits: Dict = {}, o?: CallOptions) => {
      if (id) userId = String(id);
      enqueue('identify', { traits }, o);
    }),
    alias: safe((newId: string, previousId?: string, o?: CallOptions) =>
      enqueue('alias', { userId: newId, previousId: previousId ?? userId ?? anonId() }, o),
    ),
    group: safe((groupId: string, traits: Dict = {}, o?: CallOptions) => enqueue('group', { groupId, traits }, o)),
    /**
     * Records the current session's start in Loupe's analytics (`POST /api/v1/analytics/session/start`): its id,
     * the visitor's ids, landing page, referrer, language and country (`country` here, else the tracker's
     * option, else the locale's region when `countryFromLocale`). Needs `analytics` consent; resolves whether the
     * server stored it, never throws. The server reads device, browser and UTM from the request and landing page.
     */
    startSession: async (o: { country?: string } = {}): Promise<boolean> => {
      try {
        if (!allowed('analytics')) return false;
        const country =
          countryCode(o.country) ?? countryCode(opts.country) ?? (opts.countryFromLocale ? localeRegion(navigator.language) : undefined);
        const res = await fetch(`${host}/api/v1/analytics/session/start`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.writeKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            session_id: sessionId(Date.now()),
            anonymous_id: anonId(),
            ...(userId ? { user_id: userId } : {}),
            landing_url: location.href,
            ...(document.referrer ? { referrer: document.referrer } : {}),
            locale: navigator.language,
            ...(country ? { country } : {}),
          }),
          keepalive: true,
        });
        return res.ok;
      } catch {
        return false;
      }
    },
    /** Signs the visitor out: a new anonymous id, no user id. */
    reset: safe(() => {
      userId = null;
      anonymousId = uuid();
      persisted = false;
      anonId();
    }),
    flush: () => flush().catch(() => undefined),
    consent: {
      /** Allows these categories (e.g. `analytics`, `marketing`); storage starts once any is granted. */
      grant: safe((categories: string[]) => {
        for (const c of categories) granted.add(c);
        schedule(0);
      }),
      revoke: safe((categories: string[]) => {
        for (const c of categories) granted.delete(c);
      }),
      require: safe((on: boolean) => {
        consentRequired = on;
      }),
    },
    get anonymousId(): string {
      return anonId();
    },
    get userId(): string | null {
      return userId;
    },
    /** Queue state, for diagnostics and tests: waiting events, their bytes, events dropped by the cap. */
    stats: () => ({ queued: queue?.length ?? 0, bytes: queue?.bytes ?? 0, dropped: queue?.dropped ?? 0 }),
  };
  return api;
}
export type Tracker = ReturnType<typeof createTracker>;
