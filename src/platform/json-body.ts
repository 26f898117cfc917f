import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { AppError } from './errors.ts';
import { findUnsafeValue, UNSAFE_TEXT_MESSAGE } from './text.ts';

/** Deepest JSON nesting a request body may have: far beyond any real payload, far below a stack overflow. */
const MAX_JSON_DEPTH = 32;

const DEPTH_MESSAGE = `is nested more than ${MAX_JSON_DEPTH} levels deep: flatten it`;

const POISON_HINT = /"(?:__proto__|constructor)"/;

/** True when a parsed value has a `__proto__` key or a `constructor` object with `prototype` (prototype poisoning). Iterative. */
function hasPoisonKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    if (Object.hasOwn(v, '__proto__')) return true;
    const c = (v as Record<string, unknown>).constructor;
    if (Object.hasOwn(v, 'constructor') && c !== null && typeof c === 'object' && Object.hasOwn(c, 'prototype')) return true;
    stack.push(...Object.values(v));
  }
  return false;
}

/** A `\u` escape of NUL or of a surrogate, or a raw NUL or surrogate code unit. */
const UNSAFE_TEXT_HINT = /\\u(?:0000|[dD][89a-fA-F])|[\uD800-\uDFFF]/;

/**
 * Whether a body's parsed value can hold what findUnsafeValue refuses, decided on the text in one pass: a NUL or
 * a lone surrogate can only come from an escape (a raw control character is invalid JSON, and text decoded from
 * UTF-8 holds no lone surrogate; the hint also takes the raw ones), and depth is the count of open brackets
 * outside strings. False positives only (an escaped backslash before "u0000"): those get the full walk, which
 * names the path. Walking every value of a 100-event batch cost more CPU than parsing it.
 */
function mayBeUnsafe(text: string, maxDepth: number): boolean {
  if (UNSAFE_TEXT_HINT.test(text) || text.includes('\u0000')) return true;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // a backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * Parses a JSON request body and refuses what cannot be stored: NUL characters and lone UTF-16 surrogates in
 * any string or key, and nesting deeper than `maxDepth`. The answer names the JSON path, never the bad bytes.
 * Prototype poisoning (`__proto__`, `constructor.prototype`) is refused, as Fastify's own parser does.
 */
function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('validation', 'MALFORMED_JSON', 'The body is not valid JSON.');
  }
  if (POISON_HINT.test(text) && hasPoisonKey(value))
    throw new AppError('validation', 'MALFORMED_JSON', 'The body carries a "__proto__" or "constructor.prototype" key, which is refused.');
  const bad = mayBeUnsafe(text, maxDepth) ? findUnsafeValue(value, maxDepth) : null;
  if (bad) {
    const message = bad.reason === 'too_deep' ? DEPTH_MESSAGE : UNSAFE_TEXT_MESSAGE[bad.reason];
    throw new AppError(
      'validation',
      bad.reason === 'too_deep' ? 'JSON_TOO_DEEP' : 'UNSAFE_TEXT',
      `The request body is invalid at ${bad.path}: it ${message}.`,
      { details: [{ field: bad.path, message, location: 'body' }] },
    );
  }
  return value;
}

/**
 * Replaces Fastify's JSON parser for the whole app (one edge for every route): plugins that need the raw bytes
 * (signed vendor webhooks) replace it again in their own scope.
 */
export function registerJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text === '' || /^\s*$/.test(text)) {
      done(new AppError('validation', 'MALFORMED_JSON', 'The body is empty but declared as JSON. Send a JSON object.'), undefined);
      return;
    }
    try {
      done(null, parseJsonBody(text, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * Parses `text/plain` bodies as JSON, with the same checks, in the scope it is called in: `navigator.sendBeacon`
 * and Segment's browser library send JSON as text/plain so that no CORS preflight is needed.
 */
export function registerTextJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * Wraps the schema validator so that decoded path parameters and query strings holding a NUL or a lone surrogate
 * are refused at the edge, naming the parameter, for every route with a schema (as the JSON parser does for
 * bodies): PostgreSQL text cannot hold a NUL, so such a value used to reach the database and fail as a 500.
 */
export function refusingUnsafeUrlText<S>(validate: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const inner = validate(route);
    const part = route.httpPart === 'params' ? 'path' : route.httpPart === 'querystring' ? 'query' : null;
    if (!part) return inner;
    return (data: unknown) => {
      const bad = findUnsafeValue(data, 4);
      if (bad && bad.reason !== 'too_deep') {
        const field = bad.path.replace(/^\$\.?/, '') || part;
        const message = UNSAFE_TEXT_MESSAGE[bad.reason];
        return {
          error: new AppError('validation', 'UNSAFE_TEXT', `The request ${part} is invalid at ${field}: it ${message}.`, {
            details: [{ field, message, location: part }],
          }),
        };
      }
      return inner(data);
    };
  };
}
