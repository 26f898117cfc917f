import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs, createRetryingFetch, retryAfterMs } from './http.retry.ts';

// A local server answering a scripted sequence of statuses, so the transport is tested over real HTTP.
let server: http.Server;
let origin = '';
let script: { status: number; headers?: Record<string, string>; body?: string; hang?: boolean }[] = [];
let seen = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen++;
    const step = script.shift() ?? { status: 200, body: 'ok' };
    if (step.hang) return; // never answers: the attempt's timeout ends it
    res.writeHead(step.status, step.headers ?? {});
    res.end(step.body ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function transport(extra: Parameters<typeof createRetryingFetch>[0] = {}) {
  const waits: number[] = [];
  const f = createRetryingFetch({
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.5,
    baseDelayMs: 100,
    maxDelayMs: 5_000,
    maxRetries: 3,
    timeoutMs: 2_000,
    ...extra,
  });
  return { f, waits };
}

describe('retrying transport', () => {
  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(' 3 ')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(new Date(1_000).toUTCString(), 4_000)).toBe(0);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });

  it('draws full-jitter waits within the doubling cap', () => {
    expect(backoffMs(0, 100, 5_000, () => 0.999)).toBe(99);
    expect(backoffMs(3, 100, 5_000, () => 0.5)).toBe(400);
    expect(backoffMs(10, 100, 5_000, () => 0.999)).toBe(4995);
    expect(backoffMs(2, 100, 5_000, () => 0)).toBe(0);
  });

  it('retries 429 and 5xx, honours Retry-After (capped), and answers the success with its body', async () => {
    script = [
      { status: 503 },
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 429, headers: { 'retry-after': '999' } },
      { status: 200, body: 'done' },
    ];
    seen = 0;
    const told: unknown[] = [];
    const { f, waits } = transport({ onRetry: (i) => told.push(i) });
    const r = await f(`${origin}/x`);
    expect(r).toMatchObject({ kind: 'response', status: 200, ok: true, text: 'done', attempts: 4 });
    expect(seen).toBe(4);
    expect(waits).toEqual([50, 2000, 5000]); // jitter 0.5 x 100; Retry-After 2 s beats jitter; 999 s capped at 5 s
    // Each retry is told before its wait: the failed attempt, why, and the wait (a run's log shows them).
    expect(told).toEqual([
      { attempt: 1, reason: 'HTTP 503', delayMs: 50 },
      { attempt: 2, reason: 'HTTP 429', delayMs: 2000 },
      { attempt: 3, reason: 'HTTP 429', delayMs: 5000 },
    ]);
  });

  it('does not retry a final 4xx and gives its body to the caller', async () => {
    script = [{ status: 400, body: '{"error":"bad"}' }];
    seen = 0;
    const { f, waits } = transport();
    const r = await f(`${origin}/x`, { method: 'POST', body: '{}' });
    expect(r).toMatchObject({ kind: 'response', status: 400, ok: false, text: '{"error":"bad"}', attempts: 1 });
    expect(waits).toEqual([]);
  });

  it('answers the last failure when retries run out, and what the caller counts as retryable is retried', async () => {
    script = [{ status: 500 }, { status: 500 }, { status: 500 }, { status: 502, body: 'still down' }];
    const { f } = transport();
    expect(await f(`${origin}/x`)).toMatchObject({ kind: 'response', status: 502, text: 'still down', attempts: 4 });
    script = [
      { status: 200, body: '<html>' },
      { status: 200, body: '{"a":1}' },
    ];
    const json = (t: string) => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    };
    expect(await f(`${origin}/x`, {}, (a) => a.status >= 500 || !json(a.text))).toMatchObject({ text: '{"a":1}', attempts: 2 });
  });

  it('times out a hung attempt and retries it; network errors are retried and reported', async () => {
    script = [
      { status: 0, hang: true },
      { status: 200, body: 'after the hang' },
    ];
    const { f } = transport({ timeoutMs: 300 });
    expect(await f(`${origin}/x`)).toMatchObject({ kind: 'response', text: 'after the hang', attempts: 2 });
    const closed = createRetryingFetch({ sleep: async () => undefined, maxRetries: 1 });
    expect(await closed('http://127.0.0.1:1/nothing')).toMatchObject({ kind: 'network', attempts: 2 });
  });

  it("stops at once when the caller's signal aborts, during an attempt or a wait", async () => {
    script = [{ status: 0, hang: true }];
    const { f } = transport({ timeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by the caller')), 100);
    await expect(f(`${origin}/x`, { signal: ac.signal })).rejects.toThrow('cancelled by the caller');
    script = [{ status: 503 }];
    const waiting = createRetryingFetch({ baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.99 });
    const ac2 = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac2.abort(new Error('stop waiting')), 100);
    await expect(waiting(`${origin}/x`, { signal: ac2.signal })).rejects.toThrow('stop waiting');
    expect(Date.now() - t0).toBeLessThan(5_000);
    server.closeAllConnections();
  });
});
