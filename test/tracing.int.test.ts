/**
 * OpenTelemetry (issue 17) against a local OTLP/HTTP receiver of this file's own (a plain HTTP server collecting the
 * JSON the official exporter posts to /v1/traces): a request's span continues the caller's `traceparent` and carries
 * the request id; its database statements are its children, with the SQL text but never a bound value; a job run is
 * a span with its statements under it, a child of the request that queued it (the `traceparent` stored with the job).
 * Off by default: without OTEL_EXPORTER_OTLP_ENDPOINT nothing is sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/platform/database.ts';
import { createTestApp, multipartBody, pollUntil, type TestApp } from './helpers.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}

const received: OtlpSpan[] = [];
const posts: string[] = [];
let receiver: http.Server;
let endpoint: string;
let t: TestApp;
let off: TestApp;

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined);
};

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      posts.push(req.url ?? '');
      const json = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await createTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'loupe-test' });
  off = await createTestApp();
}, 300_000);

afterAll(async () => {
  await t?.close();
  await off?.close();
  await new Promise((r) => receiver.close(r));
});

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  it('a request continues the caller trace, carries its request id, and its statements are its children', async () => {
    const c = await t.createTenant('Traced');
    const key = await c.apiKey(['catalog:read']);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const r = await t.request('GET', '/api/v1/tenant', { token: key, headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(r.status).toBe(200);
    const requestId = String(r.headers['x-request-id']);
    await t.tracing.flush();
    const server = received.find((s) => attr(s, 'loupe.request_id') === requestId);
    expect(server).toBeDefined();
    expect(server!.traceId).toBe(traceId);
    expect(server!.parentSpanId).toBe(callerSpan);
    expect(server!.name).toBe('GET /api/v1/tenant');
    expect(attr(server!, 'http.response.status_code')).toBe(200);
    expect(posts.every((p) => p === '/v1/traces')).toBe(true);
    const statements = received.filter((s) => s.parentSpanId === server!.spanId);
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      expect(s.traceId).toBe(traceId);
      expect(attr(s, 'db.system')).toBe('postgresql');
      expect(String(attr(s, 'db.query.text'))).toMatch(/\S/);
    }
    // The API key's secret reached the database only as a bound value (its hash), never as statement text.
    expect(JSON.stringify(received)).not.toContain(key);
  });

  it('a job run is a span with its statements under it', async () => {
    const c = await t.createTenant('Traced jobs');
    t.jobs.register({
      type: 'tracing.test',
      payload: z.object({ n: z.number() }),
      handle: async () => (await queryRows<{ x: number }>(t.database.db, sql`SELECT 41 + 1 AS x`))[0],
    });
    const job = await t.jobs.enqueue(c.tenantId, 'tracing.test', { n: 1 });
    t.jobs.start({ concurrency: 1, types: ['tracing.test'] });
    await pollUntil(
      'the job span arrives',
      async () => {
        await t.tracing.flush();
        return received.find((s) => attr(s, 'loupe.job.id') === job.id);
      },
      Boolean,
    );
    const span = received.find((s) => attr(s, 'loupe.job.id') === job.id)!;
    expect(span.name).toBe('job tracing.test');
    expect(attr(span, 'loupe.tenant_id')).toBe(c.tenantId);
    const children = received.filter((s) => s.parentSpanId === span.spanId);
    expect(children.some((s) => String(attr(s, 'db.query.text')).includes('41 + 1'))).toBe(true);
    await t.jobs.stop();
  });

  it('a job queued by a traced request runs in that trace, a child of the request span; an untraced one is a root', async () => {
    const c = await t.createTenant('Traced upload');
    const key = await c.apiKey(['catalog:write', 'catalog:read']);
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const m = multipartBody('item_id,name\nT1,Traced kettle\n', { mode: 'async' });
    const r = await t.request('POST', '/api/v1/upload/items', {
      token: key,
      body: m.body as unknown as string,
      headers: { 'content-type': m.contentType, traceparent: `00-${traceId}-1111111111111111-01` },
    });
    expect(r.status).toBe(202);
    const requestId = String(r.headers['x-request-id']);
    // The stored value is the request span's own context, not the caller's.
    const stored = await queryRows<{ traceparent: string | null }>(
      t.database.db,
      sql`SELECT traceparent FROM jobs WHERE tenant_id = ${c.tenantId} AND type = 'imports.process'`,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(stored[0]!.traceparent).not.toContain('1111111111111111');

    // A second job queued outside any request (a scheduler, the CLI) stores nothing and runs as a root span.
    t.jobs.register({ type: 'tracing.untraced', payload: z.object({}), handle: async () => 1 });
    const plain = await t.jobs.enqueue(c.tenantId, 'tracing.untraced', {});
    t.jobs.start({ concurrency: 2, types: ['imports.process', 'tracing.untraced'] });
    const found = await pollUntil(
      'the job spans arrive',
      async () => {
        await t.tracing.flush();
        const server = received.find((s) => attr(s, 'loupe.request_id') === requestId);
        const job = received.find((s) => s.name === 'job imports.process' && attr(s, 'loupe.tenant_id') === c.tenantId);
        const root = received.find((s) => attr(s, 'loupe.job.id') === plain.id);
        return server && job && root ? { server, job, root } : undefined;
      },
      Boolean,
    );
    const spans = found!;
    expect(spans.job.traceId).toBe(traceId);
    expect(spans.job.parentSpanId).toBe(spans.server.spanId);
    expect(stored[0]!.traceparent).toContain(spans.server.spanId);
    expect(attr(spans.job, 'loupe.job.attempt')).toBe(1);
    // The job's own statements hang under the job span, in the same trace.
    expect(received.some((s) => s.parentSpanId === spans.job.spanId && s.traceId === traceId)).toBe(true);
    expect(spans.root.parentSpanId ?? '').toBe('');
    expect(spans.root.traceId).not.toBe(traceId);
    await t.jobs.stop();
  });

  it('is off without an endpoint: no tracer, nothing sent', async () => {
    expect(off.tracing.tracer).toBeUndefined();
    const c = await off.createTenant('Untraced');
    const r = await off.request('GET', '/api/v1/tenant', { token: await c.apiKey(['catalog:read']) });
    expect(r.status).toBe(200);
    await off.tracing.flush();
    await t.tracing.flush();
    expect(received.some((s) => attr(s, 'loupe.request_id') === String(r.headers['x-request-id']))).toBe(false);
  });
});
