import Fastify, { type FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerErrorHandler } from './error-handler.ts';
import { createResponseSerializers } from './serializer.ts';

const item = z.object({ id: z.string(), price: z.string().nullable(), tags: z.array(z.string()) });
const response = z.object({
  data: z.array(item),
  owner: z.object({ id: z.string(), name: z.string().nullable() }),
  settings: z.record(z.string(), z.unknown()),
  next_cursor: z.string().nullable(),
});

let app: FastifyInstance;
let payload: unknown;
beforeAll(async () => {
  app = Fastify({ logger: false });
  app.setSerializerCompiler(createResponseSerializers().compiler);
  registerErrorHandler(app);
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/rows', { schema: { response: { 200: response } } }, async () => payload as z.infer<typeof response>);
  // A Date cannot be JSON Schema: the zod serializer still handles it.
  r.get('/dated', { schema: { response: { 200: z.object({ at: z.date() }) } } }, async () => ({ at: new Date(0), extra: 1 }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

describe('compiled response serializers', () => {
  it('write declared fields only: internal columns never leak, at any depth', async () => {
    payload = {
      data: [{ id: 'a', price: '1.50', tags: ['x'], cost_minor: 90, password_hash: 'h' }],
      owner: { id: 'u1', name: null, email: 'secret@example.com' },
      settings: { rate_limit: { requests_per_minute: 10 } },
      next_cursor: null,
      internal: { tenant_secret: 's3cr3t' },
    };
    const res = await app.inject({ method: 'GET', url: '/rows' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      data: [{ id: 'a', price: '1.50', tags: ['x'] }],
      owner: { id: 'u1', name: null },
      settings: { rate_limit: { requests_per_minute: 10 } },
      next_cursor: null,
    });
    expect(res.body).not.toMatch(/password_hash|cost_minor|secret|internal/);
  });

  it('a response missing a required field is a 500, not a partial answer', async () => {
    payload = { data: [], owner: { name: 'x' }, settings: {}, next_cursor: null };
    const res = await app.inject({ method: 'GET', url: '/rows' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('INTERNAL_ERROR');
  });

  it('falls back to the zod serializer for what JSON Schema cannot express', async () => {
    const res = await app.inject({ method: 'GET', url: '/dated' });
    expect(res.json(), res.body).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });
});

describe('lazy compilation', () => {
  async function appWith(schema: z.ZodType) {
    const serializers = createResponseSerializers();
    const a = Fastify({ logger: false, exposeHeadRoutes: false });
    a.setSerializerCompiler(serializers.compiler);
    const r = a.withTypeProvider<ZodTypeProvider>();
    r.get('/a', { schema: { response: { 200: schema } } }, async () => ({ id: 'x', hidden: 1 }) as never);
    r.get('/b', { schema: { response: { 200: schema, 201: z.object({ n: z.number() }) } } }, async () => ({ id: 'y' }) as never);
    await a.ready();
    return { a, serializers };
  }

  it('compiles a serializer at its first response; warm() compiles the rest and reports how many', async () => {
    const { a, serializers } = await appWith(z.object({ id: z.string() }));
    const res = await a.inject({ method: 'GET', url: '/a' });
    expect(res.body).toBe('{"id":"x"}');
    // /a's 200 is compiled; /b's 200 and 201 are still pending.
    expect(serializers.warm()).toBe(2);
    expect(serializers.warm()).toBe(0);
    expect((await a.inject({ method: 'GET', url: '/b' })).body).toBe('{"id":"y"}');
    await a.close();
  });

  it('a second app with the same schema objects answers the same, undeclared fields still dropped', async () => {
    const schema = z.object({ id: z.string() });
    const first = await appWith(schema);
    const second = await appWith(schema);
    expect((await first.a.inject({ method: 'GET', url: '/a' })).body).toBe('{"id":"x"}');
    expect((await second.a.inject({ method: 'GET', url: '/a' })).body).toBe('{"id":"x"}');
    await first.a.close();
    await second.a.close();
  });
});
