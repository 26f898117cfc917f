import { Writable } from 'node:stream';
import pino from 'pino';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../test/helpers.ts';
import { createJobQueue } from './jobs.queue.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('health, metrics and docs', () => {
  it('reports liveness and readiness (with the database)', async () => {
    expect((await t.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await t.request('GET', '/health/ready')).body).toMatchObject({ status: 'ok' });
  });

  it('exposes Prometheus metrics per route pattern, never raw URLs', async () => {
    await t.request('GET', '/api/v1/admin/tenants/0190a000-0000-7000-8000-000000000001', { token: await t.adminToken() });
    const m = await t.request('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toContain('loupe_http_request_duration_seconds_bucket');
    expect(m.body).toContain('route="/api/v1/admin/tenants/:id"');
    expect(m.body).not.toContain('0190a000-0000-7000-8000-000000000001');
    // Request counts (kept as plain integers, handed to prom-client at each scrape) add up across scrapes.
    const count = (body: string) =>
      Number(/loupe_http_requests_total\{method="GET",route="\/api\/v1\/admin\/tenants\/:id",status="\d+"\} (\d+)/.exec(body)?.[1]);
    expect(count(m.body)).toBe(1);
    for (let i = 0; i < 2; i++)
      await t.request('GET', '/api/v1/admin/tenants/0190a000-0000-7000-8000-000000000001', { token: await t.adminToken() });
    expect(count((await t.request('GET', '/metrics')).body)).toBe(3);
  });

  it('every route’s response serializer compiles (serve warms them all before listening; tests compile them lazily)', () => {
    // Hundreds of routes, each with one or more response schemas; a schema fast-json-stringify refuses would throw here.
    expect(t.warmSerializers()).toBeGreaterThan(300);
    expect(t.warmSerializers()).toBe(0);
  });

  it('serves the OpenAPI document generated from the route schemas, and /docs', async () => {
    const doc = await t.request('GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/api-keys', '/api/v1/admin/tenants', '/api/v1/audit/logs']),
    );
    expect(doc.body.paths['/api/v1/api-keys'].post.requestBody.content['application/json'].schema.properties.scopes).toBeDefined();
    const html = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('swagger');
  });

  it('refuses to boot a route without access rules, or an administrative action without an audit entry', async () => {
    const Fastify = (await import('fastify')).default;
    const { registerAuthHooks } = await import('./auth.hook.ts');
    const { createRateLimiter } = await import('./rate-limit.ts');
    const mk = () => {
      const app = Fastify();
      registerAuthHooks(app, {
        clock: () => new Date(),
        authenticator: t.tenancy.authenticator,
        rateLimiter: createRateLimiter(),
        limits: t.config.rateLimits,
      });
      return app;
    };
    expect(() => mk().get('/api/v1/open', async () => 'x')).toThrow(/declares no config.auth/);
    expect(() =>
      mk().post('/api/v1/keys2', { config: { auth: { kind: 'tenant', permission: 'apikeys:manage' } } }, async () => 'x'),
    ).toThrow(/declares no config.audit/);
    expect(() => mk().delete('/api/v1/admin/x', { config: { auth: { kind: 'platform_admin' } } }, async () => 'x')).toThrow(
      /declares no config.audit/,
    );
    expect(() =>
      mk().get('/api/v1/keys3', { config: { auth: { kind: 'tenant', permission: 'apikeys:manage' } } }, async () => 'x'),
    ).not.toThrow();
  });
});

describe('audit log', () => {
  it('records administrative actions with actor, tenant, resource, ip and outcome; filters and paginates', async () => {
    const s = await t.createTenant('Audited Shop');
    for (let i = 0; i < 3; i++) await s.apiKey(['catalog:read']);
    const keys = await t.request('GET', '/api/v1/api-keys', { token: s.ownerToken });
    await t.request('DELETE', `/api/v1/api-keys/${keys.body.data[0].id}`, { token: s.ownerToken });
    await t.request('DELETE', `/api/v1/api-keys/0190a000-0000-7000-8000-0000000000ff`, { token: s.ownerToken }); // a failure

    const all = await t.request('GET', '/api/v1/audit/logs', { token: s.ownerToken });
    expect(all.status).toBe(200);
    const actions = all.body.data.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'api_key.create')).toHaveLength(3);
    const created = all.body.data.find((e: { action: string }) => e.action === 'api_key.create');
    expect(created).toMatchObject({
      tenant_id: s.tenantId,
      actor_type: 'user',
      resource_type: 'api_key',
      outcome: 'success',
      status_code: 201,
    });
    expect(created.resource_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.ip).toBeTruthy();
    const failed = await t.request('GET', '/api/v1/audit/logs?outcome=failure', { token: s.ownerToken });
    expect(failed.body.data).toEqual([expect.objectContaining({ action: 'api_key.revoke', status_code: 404 })]);
    const prefix = await t.request('GET', '/api/v1/audit/logs?action=api_key.*&limit=2', { token: s.ownerToken });
    expect(prefix.body.data).toHaveLength(2);
    expect(prefix.body.next_cursor).toBeTruthy();
    const page2 = await t.request('GET', `/api/v1/audit/logs?action=api_key.*&limit=2&cursor=${prefix.body.next_cursor}`, {
      token: s.ownerToken,
    });
    expect(page2.body.data.length).toBeGreaterThan(0);
    expect(page2.body.data[0].id < prefix.body.data[1].id).toBe(true);
    // seed 004's path gives the same log; another tenant's log is not visible
    const seedPath = await t.request('GET', `/audit/${s.tenantId}/logs`, { token: s.ownerToken });
    expect(seedPath.body.data.map((e: { id: string }) => e.id)).toEqual(all.body.data.map((e: { id: string }) => e.id));
    const other = await t.createTenant('Other Shop');
    const otherLog = await t.request('GET', '/api/v1/audit/logs', { token: other.ownerToken });
    expect(otherLog.body.data.every((e: { tenant_id: string }) => e.tenant_id === other.tenantId)).toBe(true);
    // tenant creation by the platform admin is recorded on the tenant it created
    expect(otherLog.body.data.map((e: { action: string }) => e.action)).toContain('tenant.create');
  });

  it('refuses a malformed cursor or date with a 400', async () => {
    const s = await t.createTenant();
    expect((await t.request('GET', '/api/v1/audit/logs?cursor=abc', { token: s.ownerToken })).status).toBe(400);
    expect((await t.request('GET', '/api/v1/audit/logs?from=yesterday', { token: s.ownerToken })).status).toBe(400);
  });
});

describe('rate limits', () => {
  it('limits a tenant to its per-minute rate plus burst, with headers and Retry-After; per-tenant settings override', async () => {
    const r = await createTestApp({ RATE_LIMIT_TENANT_PER_MINUTE: '5', RATE_LIMIT_TENANT_BURST: '2' });
    try {
      const s = await r.createTenant();
      const key = await s.apiKey(['catalog:read']);
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 10; i++) {
        last = await r.request('GET', '/api/v1/tenant', { token: key });
        statuses.push(last.status);
      }
      // the owner's own calls while setting up count too; at most 7 per minute succeed in total
      expect(statuses.filter((x) => x === 200).length).toBeLessThanOrEqual(7);
      expect(statuses.at(-1)).toBe(429);
      expect(last!.body.error.code).toBe('RATE_LIMITED');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      expect(last!.headers['x-ratelimit-limit']).toBe('5');
      expect(last!.headers['x-ratelimit-remaining']).toBe('0');
      // Another tenant is unaffected.
      const other = await r.createTenant();
      expect((await r.request('GET', '/api/v1/tenant', { token: other.ownerToken })).status).toBe(200);
      // A platform admin raises this tenant's limit: requests flow again.
      const patched = await r.request('PATCH', `/api/v1/admin/tenants/${s.tenantId}`, {
        token: await r.adminToken(),
        body: { settings: { rate_limit: { requests_per_minute: 1000, burst: 0 } } },
      });
      expect(patched.status).toBe(200);
      const again = await r.request('GET', '/api/v1/tenant', { token: key });
      expect(again.status).toBe(200);
      expect(again.headers['x-ratelimit-limit']).toBe('1000');
      const bad = await r.request('PATCH', `/api/v1/admin/tenants/${s.tenantId}`, {
        token: await r.adminToken(),
        body: { settings: { rate_limit: { requests_per_minute: -1 } } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].field).toBe('settings.rate_limit.requests_per_minute');
    } finally {
      await r.close();
    }
  });

  it('limits sign-in attempts per client address', async () => {
    const r = await createTestApp({ RATE_LIMIT_AUTH_PER_MINUTE: '3' });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await r.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: 'rt_x' } })).status);
      expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
      expect(codes.slice(3)).toEqual([429, 429]);
    } finally {
      await r.close();
    }
  });

  const redisUrl = process.env.TEST_REDIS_URL;
  it.skipIf(!redisUrl)('shares counts between replicas through Redis (TEST_REDIS_URL)', async () => {
    const prefix = `t${Date.now()}`;
    const mk = () => new Redis(redisUrl!, { keyPrefix: `${prefix}:` });
    const r1 = await createTestApp({ RATE_LIMIT_TENANT_PER_MINUTE: '4', RATE_LIMIT_TENANT_BURST: '0' }, { redis: mk() });
    // The second replica shares the first one's database (same tenant, same key) but is another process-level app.
    const { buildApp } = await import('../app.ts');
    const r2 = await buildApp(r1.config, { database: r1.database, redis: mk() });
    try {
      const s = await r1.createTenant();
      const key = await s.apiKey(['catalog:read']);
      const hit = async (app: typeof r2.app) =>
        (await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { authorization: `Bearer ${key}` } })).statusCode;
      const codes = [await hit(r1.app), await hit(r2.app), await hit(r1.app), await hit(r2.app), await hit(r1.app), await hit(r2.app)];
      expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(2);
    } finally {
      await r2.close();
      await r1.close();
    }
  });
});

describe('logs never carry PII or secrets in clear', () => {
  it('scrubs e-mails, phones, tokens and query values', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const { loggerOptions } = await import('./logger.ts');
    const opts = loggerOptions('info') as pino.LoggerOptions;
    const log = pino(opts, sink);
    log.info(
      { req: { method: 'GET', url: '/api/v1/profiles/lookup?email=jane.doe@example.com&phone=%2B14155550123', id: '1' } },
      'request',
    );
    log.info({ req: { method: 'GET', url: '/api/v1/profiles?user_id=cust-8812&loyalty_id=LOY-77&limit=5', id: '2' } }, 'request');
    log.info('user jane.doe@example.com called from +1 (415) 555-0123 with sk_live_abcdefghijklmnop and Bearer eyJhbGciOiJIUzI1NiJ9.x.y');
    log.warn({ detail: { email: 'JANE.DOE@example.com', password: 'hunter22', nested: ['+44 20 7946 0958'] } }, 'oops');
    // What Fastify itself logs: a request object whose url is a getter on its prototype.
    class FakeRequest {
      get url() {
        return '/api/v1/profiles/lookup?email=jane.doe@example.com';
      }
      method = 'GET';
      id = 'r-1';
    }
    log.info({ req: new FakeRequest() }, 'incoming request');
    const out = lines.join('\n');
    expect(out).toContain('"url":"/api/v1/profiles/lookup?email=[redacted]"');
    expect(out).not.toMatch(/jane\.doe@example\.com/i);
    expect(out).not.toContain('555-0123');
    expect(out).not.toContain('7946 0958');
    expect(out).not.toContain('abcdefghijklmnop');
    expect(out).not.toContain('hunter22');
    expect(out).not.toContain('cust-8812');
    expect(out).not.toContain('LOY-77');
    expect(out).toContain('limit=5');
    expect(out).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(out).toContain('<email:');
    expect(out).toContain('<phone:');
    expect(out).toContain('sk_live_***');
  });
});

describe('job queue (durable, on this database)', () => {
  const tenantId = '0190a000-0000-7000-8000-0000000000aa';

  it('runs jobs with progress, retries failures with backoff, and fails permanently after max attempts', async () => {
    const q = createJobQueue({ db: t.database.db, logger: pino({ level: 'silent' }), pollMs: 20 });
    let flaky = 0;
    q.register({
      type: 'test.sum',
      payload: z.object({ n: z.number().int() }),
      async handle(run) {
        let s = 0;
        for (let i = 1; i <= run.payload.n; i++) {
          s += i;
          await run.progress({ done: i, total: run.payload.n }, i === run.payload.n);
        }
        return { sum: s };
      },
    });
    q.register({
      type: 'test.flaky',
      payload: z.object({}),
      maxAttempts: 3,
      async handle() {
        flaky++;
        if (flaky < 2) throw new Error('transient');
        return { ok: true };
      },
    });
    q.register({
      type: 'test.broken',
      payload: z.object({}),
      maxAttempts: 2,
      async handle() {
        throw new Error('always broken');
      },
    });
    q.start({ concurrency: 2 });
    try {
      const a = await q.enqueue(tenantId, 'test.sum', { n: 10 });
      const b = await q.enqueue(tenantId, 'test.flaky', {});
      const c = await q.enqueue(tenantId, 'test.broken', {});
      const waitFor = async (id: string, done: (s: string) => boolean, ms = 15_000) => {
        const end = Date.now() + ms;
        for (;;) {
          const j = await q.get(tenantId, id);
          if (j && done(j.status)) return j;
          if (Date.now() > end) throw new Error(`timeout waiting for ${id}: ${j?.status}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const ja = await waitFor(a.id, (s) => s === 'succeeded');
      expect(ja.result).toEqual({ sum: 55 });
      expect(ja.progress).toEqual({ done: 10, total: 10 });
      const jb = await waitFor(b.id, (s) => s === 'succeeded');
      expect(jb.attempts).toBe(2);
      expect(jb.lastError).toBe('transient');
      const jc = await waitFor(c.id, (s) => s === 'failed');
      expect(jc.attempts).toBe(2);
      expect(jc.lastError).toBe('always broken');
      // unknown payloads are refused at enqueue
      await expect(q.enqueue(tenantId, 'test.sum', { n: 'x' } as never)).rejects.toThrow();
    } finally {
      await q.stop();
    }
  });

  it('cancels queued and running jobs; a running handler sees its signal abort', async () => {
    const q = createJobQueue({ db: t.database.db, logger: pino({ level: 'silent' }), pollMs: 20 });
    let sawAbort = false;
    let started = false;
    q.register({
      type: 'test.long',
      payload: z.object({}),
      async handle(run) {
        started = true;
        while (!run.signal.aborted) await new Promise((r) => setTimeout(r, 10));
        sawAbort = true;
        return null;
      },
    });
    const queued = await q.enqueue(tenantId, 'test.long', {}, { runAt: new Date(Date.now() + 60_000) });
    expect((await q.cancel(tenantId, queued.id))?.status).toBe('cancelled');
    q.start({ concurrency: 1 });
    try {
      const running = await q.enqueue(tenantId, 'test.long', {});
      for (let i = 0; i < 200 && !started; i++) await new Promise((r) => setTimeout(r, 20));
      expect(started).toBe(true);
      await q.cancel(tenantId, running.id);
      await q.drain();
      expect(sawAbort).toBe(true);
      expect((await q.get(tenantId, running.id))?.status).toBe('cancelled');
    } finally {
      await q.stop();
    }
  });

  it('a job whose worker died (expired lease) is picked up again', async () => {
    const q = createJobQueue({ db: t.database.db, logger: pino({ level: 'silent' }), pollMs: 20 });
    q.register({ type: 'test.resume', payload: z.object({}), handle: async () => ({ resumed: true }) });
    const job = await q.enqueue(tenantId, 'test.resume', {});
    const { sql } = await import('drizzle-orm');
    // Simulate a worker that claimed the job and died: running, lease in the past.
    await t.database.db.execute(
      sql`UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'dead-worker', locked_until = now() - interval '1 minute' WHERE id = ${job.id}`,
    );
    q.start({ concurrency: 1 });
    try {
      const j = await pollUntil(
        'recovered job',
        () => q.get(tenantId, job.id),
        (x) => x?.status === 'succeeded',
        { intervalMs: 25 },
      );
      expect(j?.status).toBe('succeeded');
      expect(j?.attempts).toBe(2);
    } finally {
      await q.stop();
    }
  });

  it('jobs API: tenant-scoped get, list and cancel; other tenants get 404', async () => {
    const s = await t.createTenant();
    const other = await t.createTenant();
    t.jobs.register({ type: 'test.api', payload: z.object({}), handle: async () => null });
    const job = await t.jobs.enqueue(s.tenantId, 'test.api', {}, { runAt: new Date(Date.now() + 3_600_000) });
    const got = await t.request('GET', `/api/v1/jobs/${job.id}`, { token: s.ownerToken });
    expect(got.body).toMatchObject({ id: job.id, type: 'test.api', status: 'queued' });
    expect((await t.request('GET', `/api/v1/jobs/${job.id}`, { token: other.ownerToken })).status).toBe(404);
    expect((await t.request('POST', `/api/v1/jobs/${job.id}/cancel`, { token: other.ownerToken })).status).toBe(404);
    expect((await t.request('GET', '/api/v1/jobs?status=queued', { token: s.ownerToken })).body.data).toHaveLength(1);
    expect((await t.request('POST', `/api/v1/jobs/${job.id}/cancel`, { token: s.ownerToken })).body.status).toBe('cancelled');
    const again = await t.request('POST', `/api/v1/jobs/${job.id}/cancel`, { token: s.ownerToken });
    expect(again.status).toBe(409);
  });
});
