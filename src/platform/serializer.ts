import fastJsonStringify from 'fast-json-stringify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import type { FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';

type SerializerCompiler = FastifySerializerCompiler<z.ZodType>;

/**
 * Response serializers compiled from the routes' zod schemas: each response schema becomes a JSON Schema
 * (`z.toJSONSchema`, output side) and then a fast-json-stringify function, instead of re-validating every
 * response with zod and calling JSON.stringify. Two properties hold either way:
 * - undeclared fields never leak: fast-json-stringify writes only the properties a schema declares (a zod
 *   object's output schema has `additionalProperties: false`; only `.loose()`/records declare more);
 * - a response missing a required field fails (500 through the error handler), as validation did.
 * A schema JSON Schema cannot express (transforms, dates, bigints) falls back to the zod serializer. What is
 * no longer checked on the way out: refinements and string formats of response fields (they describe what
 * the handlers already produce).
 */
/** Compiles one route's response schema (see above); a schema JSON Schema cannot express gets zod's serializer. */
function compileResponseSerializer(route: Parameters<SerializerCompiler>[0]): (data: unknown) => string {
  const schema = route.schema as unknown;
  if (!(schema instanceof z.ZodType)) return zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]);
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', target: 'draft-7' }) as Record<string, unknown>;
  } catch {
    return zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]);
  }
  delete json.$schema;
  return fastJsonStringify(json as unknown as Parameters<typeof fastJsonStringify>[0]) as (data: unknown) => string;
}

/**
 * Serializers already compiled, by schema object. The routes' response schemas are module constants, so every
 * app built in one process (a test worker builds one per file, the CLI one per command) compiles each once.
 */
const compiledBySchema = new WeakMap<object, (data: unknown) => string>();

function compiledFor(route: Parameters<SerializerCompiler>[0]): (data: unknown) => string {
  const schema = route.schema as unknown;
  if (typeof schema !== 'object' || schema === null) return compileResponseSerializer(route);
  let fn = compiledBySchema.get(schema);
  if (!fn) {
    fn = compileResponseSerializer(route);
    compiledBySchema.set(schema, fn);
  }
  return fn;
}

export interface ResponseSerializers {
  /** Fastify's serializer compiler: each route's serializer is compiled at its first response, not at start. */
  compiler: SerializerCompiler;
  /** Compiles every serializer not compiled yet (`loupe serve` before it listens); returns how many. */
  warm(): number;
}

/**
 * Response serializers for one app, compiled lazily. Compiling all of them (about 400 schemas through
 * `z.toJSONSchema` and fast-json-stringify) was most of `buildApp`'s CPU, paid by every test file and CLI
 * command that answers a handful of routes or none; the server warms them all before listening, so a schema
 * that cannot compile still stops the start and no first request pays for it.
 */
export function createResponseSerializers(): ResponseSerializers {
  const pending = new Set<() => unknown>();
  const compiler: SerializerCompiler = (route) => {
    let fn: ((data: unknown) => string) | undefined;
    const compile = () => {
      pending.delete(compile);
      fn = compiledFor(route);
      return fn;
    };
    pending.add(compile);
    return (data) => (fn ?? compile())(data);
  };
  return {
    compiler,
    warm() {
      const n = pending.size;
      for (const compile of [...pending]) compile();
      return n;
    },
  };
}
