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
export const responseSerializerCompiler: SerializerCompiler = (route) => {
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
};
