import { describe, expect, it } from 'vitest';
import { createClient, LoupePaginationError, paginate } from '../sdk/src/client.ts';
import { retryAfterMs } from '../sdk/src/transport.ts';

/** The SDK's typed client against a scripted fetch: retries, Retry-After, one idempotency key per write, errors as values. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}
const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('SDK client', () => {
  it('retries 429 after Retry-After and 503 with backoff, keeping one Idempotency-Key for the write', async () => {
    const waits: number[] = [];
    const s = scripted([
      json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, { 'retry-after': '2' }),
      () => Promise.reject(new TypeError('network down')),
      json(503, { error: { code: 'OVERLOADED', message: 'busy' } }),
      json(200, { status: 'tracked', interaction_id: 'i1', processed_at: '2026-01-01T00:00:00Z' }),
    ]);
    const c = createClient({
      apiKey: 'sk_live_x',
      host: 'https://loupe.test/',
      fetch: s.fetch,
      retries: 3,
      sleep: async (ms) => void waits.push(ms),
    });
    const r = await c.interactions.track({ user_id: 'u1', item_id: null, interaction_type: 'recommendations_shown' });
    expect(r).toEqual({ ok: true, data: { status: 'tracked', interaction_id: 'i1', processed_at: '2026-01-01T00:00:00Z' } });
    expect(s.calls).toHaveLength(4);
    expect(waits[0]).toBe(2000);
    const keys = s.calls.map((c) => (c.init.headers as Record<string, string>)['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toBeTruthy();
    // ... and one event_id in every attempt's body: the server stores the event once.
    const eventIds = s.calls.map((c) => JSON.parse(c.init.body as string).event_id);
    expect(new Set(eventIds).size).toBe(1);
    expect(eventIds[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.calls[0]!.url).toBe('https://loupe.test/api/v1/interactions');
    expect((s.calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer sk_live_x');
  });

  it('returns a typed error without retrying a 4xx, and after the last attempt of a 5xx', async () => {
    const s = scripted([json(403, { error: { code: 'PUBLISHABLE_KEY_NOT_ALLOWED', message: 'no', request_id: 'req-1' } })]);
    const c = createClient({ apiKey: 'pk_live_x', host: 'https://loupe.test', fetch: s.fetch, sleep: async () => {} });
    const r = await c.recommendations({ user_id: 'u1' });
    expect(r).toEqual({ ok: false, error: { status: 403, code: 'PUBLISHABLE_KEY_NOT_ALLOWED', message: 'no', requestId: 'req-1' } });
    expect(s.calls).toHaveLength(1);

    const down = scripted([json(500, {}), json(500, {}), json(502, 'not json')]);
    const c2 = createClient({ apiKey: 'pk_live_x', host: 'https://loupe.test', fetch: down.fetch, retries: 2, sleep: async () => {} });
    const r2 = await c2.search({ q: 'headphones', limit: 5 });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.error).toMatchObject({ status: 502, code: 'HTTP_502' });
    expect(down.calls[0]!.url).toBe('https://loupe.test/api/v1/items/search?q=headphones&limit=5');
  });

  it('walks cursor pages until next_cursor is null', async () => {
    const s = scripted([json(200, { data: [1, 2], next_cursor: 'c2' }), json(200, { data: [3], next_cursor: null })]);
    const c = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: s.fetch, sleep: async () => {} });
    const seen: number[] = [];
    for await (const x of paginate<number>((cursor) => c.request('GET', '/api/v1/items', { query: { cursor, limit: 2 } }))) seen.push(x);
    expect(seen).toEqual([1, 2, 3]);
    expect(s.calls[1]!.url).toContain('cursor=c2');
  });

  it('walks sorted pages by offset (they have no cursor) until the total, and a page past the offset limit fails the walk', async () => {
    const s = scripted([
      json(200, { data: [1, 2], next_cursor: null, total: 5 }),
      json(200, { data: [3, 4], next_cursor: null, total: 5 }),
      json(200, { data: [5], next_cursor: null, total: 5 }),
    ]);
    const c = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: s.fetch, sleep: async () => {} });
    const seen: unknown[] = [];
    for await (const x of c.orders.all({ sort: '-total', limit: 2 })) seen.push(x);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(s.calls.map((x) => new URL(x.url).searchParams.get('offset'))).toEqual(['0', '2', '4']);
    expect(s.calls.every((x) => !new URL(x.url).searchParams.has('cursor'))).toBe(true);

    const cut = scripted([
      json(200, { data: [1], next_cursor: null, total: 20_000 }),
      json(400, { error: { code: 'VALIDATION_FAILED', message: 'offset too large' } }),
    ]);
    const c2 = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: cut.fetch, sleep: async () => {} });
    const got: unknown[] = [];
    const walk = async () => {
      for await (const x of c2.imports.all({ offset: 10_000 } as never)) got.push(x);
    };
    await expect(walk()).rejects.toThrow(LoupePaginationError);
    expect(got).toEqual([1]);
    expect(new URL(cut.calls[0]!.url).searchParams.get('offset')).toBe('10000');
  });

  it('ends a walk whose page fails with a LoupePaginationError carrying the error value', async () => {
    const s = scripted([json(200, { data: [1], next_cursor: 'c2' }), json(404, { error: { code: 'NOT_FOUND', message: 'gone' } })]);
    const c = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: s.fetch, sleep: async () => {} });
    const seen: unknown[] = [];
    const walk = async () => {
      for await (const x of c.jobs.all()) seen.push(x);
    };
    await expect(walk()).rejects.toThrow(LoupePaginationError);
    expect(seen).toEqual([1]);
  });

  it('repeats a non-idempotent write only when the server says it did nothing (429, 503), never after a lost answer', async () => {
    const created = { id: 'we_1', secret: 'whsec_x' };
    const s = scripted([
      json(429, { error: { code: 'RATE_LIMITED', message: 'later' } }, { 'retry-after': '1' }),
      () => Promise.reject(new TypeError('connection reset')),
      json(201, created),
    ]);
    const waits: number[] = [];
    const c = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: s.fetch, sleep: async (ms) => void waits.push(ms) });
    const r = await c.webhooks.endpoints.create({ url: 'https://hooks.example.com/x', event_types: ['*'] });
    expect(r).toEqual({ ok: false, error: { status: 0, code: 'NETWORK_ERROR', message: 'connection reset' } });
    expect(s.calls).toHaveLength(2);
    expect(waits).toEqual([1000]);
    const r500 = scripted([json(500, {}), json(201, created)]);
    const c2 = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.test', fetch: r500.fetch, sleep: async () => {} });
    expect((await c2.webhooks.endpoints.create({ url: 'https://hooks.example.com/x', event_types: ['*'] })).ok).toBe(false);
    expect(r500.calls).toHaveLength(1);
  });

  it('reads Retry-After as seconds or an HTTP date, and caps the wait', async () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Sat, 05 Dec 2026 10:00:10 GMT', Date.parse('Sat, 05 Dec 2026 10:00:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
    const waits: number[] = [];
    const s = scripted([json(503, {}, { 'retry-after': '3600' }), json(200, { data: [], next_cursor: null })]);
    const c = createClient({
      apiKey: 'sk_live_x',
      host: 'https://loupe.test',
      fetch: s.fetch,
      maxRetryDelayMs: 5000,
      sleep: async (ms) => void waits.push(ms),
    });
    expect((await c.items.list({ limit: 10 })).ok).toBe(true);
    expect(waits).toEqual([5000]);
  });
});
