import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { type Database, databaseAnswers, databaseOutageSign } from './database.ts';
import { AppError, type ErrorDetail, type ErrorKind } from './errors.ts';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  locked: 423,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[]; request_id: string };
}

export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  code: string,
  message: string,
  details?: ErrorDetail[],
): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...(details && details.length ? { details } : {}), request_id: String(request.id) } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Fastify's own error codes that are the client's fault, with what to tell them. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Send the body as application/json (or multipart/form-data for uploads).',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is larger than this endpoint accepts. Split it into smaller batches or use the upload endpoints.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'MALFORMED_JSON',
    message: 'The body is empty but declared as JSON. Send a JSON object.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST', message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', message: 'The body is not valid JSON.' },
  FST_ERR_INVALID_URL: { status: 400, code: 'BAD_REQUEST', message: 'The URL is not valid.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the file as multipart/form-data.' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The uploaded file is larger than the configured limit.' },
  FST_FILES_LIMIT: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Too many files in one upload.' },
  FST_PARTS_LIMIT: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Too many parts in one upload.' },
};

function zodPath(path: string, instancePath: string): string {
  const p = instancePath.replace(/^\//, '').replace(/\//g, '.');
  return p || path;
}

/**
 * Maps every error to the one error shape once. Unexpected errors become a 500 with the request id and
 * no internal message; they are logged with the stack for operators.
 */
export function registerErrorHandler(app: FastifyInstance, database?: Database): void {
  app.setErrorHandler(async (err: FastifyError | AppError | Error, request, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
      if (STATUS[err.kind] >= 500) request.log.error({ err }, 'service error');
      return sendError(reply, request, STATUS[err.kind], err.code, err.message, err.details);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as FastifyError).validationContext ?? 'body';
      const details: ErrorDetail[] = err.validation.map((v) => {
        const base = zodPath('', v.instancePath);
        const keys = (v.params as { keys?: string[] }).keys;
        if (v.keyword === 'unrecognized_keys' && keys?.length) {
          return {
            field: [base, keys[0]].filter(Boolean).join('.'),
            message: `Unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}. Remove it; see /docs for the accepted fields.`,
            location: where,
          };
        }
        return { field: base || where, message: v.message ?? 'Invalid value', location: where };
      });
      return sendError(
        reply,
        request,
        400,
        'VALIDATION_ERROR',
        `The request ${where} is invalid: ${details.map((d) => d.field).join(', ')}.`,
        details,
      );
    }
    if (isResponseSerializationError(err)) {
      request.log.error({ err: { message: err.message, cause: err.cause } }, 'response did not match its schema');
      return sendError(reply, request, 500, 'INTERNAL_ERROR', 'An unexpected error occurred. Quote the request id when reporting it.');
    }
    const fe = err as FastifyError;
    const known = fe.code ? FASTIFY_CLIENT_ERRORS[fe.code] : undefined;
    if (known) return sendError(reply, request, known.status, known.code, known.message);
    if (fe instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return sendError(reply, request, 400, 'MALFORMED_JSON', 'The body is not valid JSON.');
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Other client errors raised by plugins: keep the status, not the internal wording.
      const status = fe.statusCode;
      const code =
        status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST';
      return sendError(
        reply,
        request,
        status,
        code,
        status === 413 ? 'The request is too large.' : 'The request could not be processed. Check it against /docs.',
      );
    }
    // The database restarting or unreachable: the same request can succeed in a moment (the pools reconnect). A bare
    // socket error may come from another outbound call: it is the database's only when the database does not answer.
    const sign = databaseOutageSign(err);
    if (sign === 'down' || (sign === 'socket' && database && !(await databaseAnswers(database)))) {
      request.log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, 'database unavailable');
      reply.header('retry-after', '5');
      return sendError(reply, request, 503, 'DATABASE_UNAVAILABLE', 'The database is not answering. Try again in a few seconds.');
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, request, 500, 'INTERNAL_ERROR', 'An unexpected error occurred. Quote the request id when reporting it.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, 404, 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}. See /docs for the API.`),
  );
}
