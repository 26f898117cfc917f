import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandler } from './error-handler.ts';
import { registerJsonParser } from './json-body.ts';

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ logger: false });
  registerErrorHandler(app);
  registerJsonParser(app, 4);
  app.post('/echo', async (request) => ({ body: request.body }));
  await app.ready();
});
afterAll(async () => app?.close());

const post = (payload: string) => app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });
const nest = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

describe('the JSON body edge (the text screen before the value walk)', () => {
  it('refuses escaped NUL and lone surrogates, in values and in keys, naming the path', async () => {
    for (const [text, field] of [
      ['{"a":["ok","x\\u0000"]}', '$.a[1]'],
      ['{"a":{"b":"\\uD800"}}', '$.a.b'],
      ['{"a":{"\\udfff":1}}', '$.a.\uFFFD'],
    ] as const) {
      const res = await post(text);
      expect(res.statusCode, text).toBe(400);
      expect(res.json().error.code).toBe('UNSAFE_TEXT');
      if (!field.includes('\uFFFD')) expect(res.json().error.details[0].field).toBe(field);
    }
  });

  it('takes what only looks unsafe: a pair of surrogates, an escaped backslash before "u0000", brackets inside strings', async () => {
    expect((await post('{"a":"\\ud83d\\ude00"}')).json()).toEqual({ body: { a: '😀' } });
    expect((await post('{"a":"\\\\u0000"}')).json()).toEqual({ body: { a: '\\u0000' } });
    expect((await post(`{"a":"${'[{'.repeat(20)}"}`)).json()).toEqual({ body: { a: '[{'.repeat(20) } });
    expect((await post('{"a":"say \\"[[[[[\\" twice"}')).statusCode).toBe(200);
  });

  it('counts depth as the walk does: 4 levels pass, 5 are refused', async () => {
    expect((await post(nest(4))).statusCode).toBe(200);
    const deep = await post(nest(5));
    expect(deep.statusCode).toBe(400);
    expect(deep.json().error.code).toBe('JSON_TOO_DEEP');
  });
});
