import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { queryOne, type Db } from './database.ts';
import { AppError, type ErrorDetail } from './errors.ts';

/** An answer to remember: the status and JSON body sent the first time. */
export interface IdempotentAnswer {
  status: number;
  body: unknown;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key` header (printable ASCII, at most 255 characters), or undefined. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const h = request.headers['idempotency-key'];
  if (h === undefined) return undefined;
  if (typeof h !== 'string' || !KEY.test(h))
    throw new AppError('validation', 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 printable ASCII characters.');
  return h;
}

/**
 * `Idempotency-Key` with Stripe's semantics over the platform's `idempotency_keys` table, for any mutating route:
 * - the first request with a key runs and its answer (success or a 4xx refusal) is stored;
 * - a retry with the same key and the same body gets that answer again, without running anything;
 * - the same key with a different body (or on another route) is refused: 400 IDEMPOTENCY_KEY_REUSED;
 * - while the first is still running, a concurrent retry is told to wait: 409 IDEMPOTENCY_KEY_IN_USE;
 * - a 5xx or an unexpected error stores nothing, so the retry runs again.
 * Keys are per tenant. `run` receives nothing from here: its own writes commit on their own (the stored answer
 * is written after them), and a crash in between leaves the key "in use" until it expires (24 hours).
 */
export function createIdempotency(db: Db, clock: () => Date) {
  return {
    async run(
      tenantId: string,
      key: string | undefined,
      route: string,
      body: unknown,
      work: () => Promise<IdempotentAnswer>,
    ): Promise<IdempotentAnswer & { replayed: boolean }> {
      if (key === undefined) return { ...(await work()), replayed: false };
      const hash = createHash('sha256')
        .update(`${route}\u0000${JSON.stringify(body ?? null)}`)
        .digest('hex');
      const expired = new Date(clock().getTime() - 24 * 3600_000).toISOString();
      // A key older than a day is forgotten (Stripe keeps keys 24 hours).
      await db.execute(
        sql`DELETE FROM idempotency_keys WHERE tenant_id = ${tenantId} AND key = ${key} AND route = ${route} AND created_at < ${expired}::timestamptz`,
      );
      const mine = await queryOne<{ key: string }>(
        db,
        sql`INSERT INTO idempotency_keys (tenant_id, key, route, request_hash) VALUES (${tenantId}, ${key}, ${route}, ${hash})
            ON CONFLICT DO NOTHING RETURNING key`,
      );
      if (!mine) {
        const seen = await queryOne<{ requestHash: string; statusCode: number | null; response: unknown }>(
          db,
          sql`SELECT request_hash AS "requestHash", status_code AS "statusCode", response FROM idempotency_keys
              WHERE tenant_id = ${tenantId} AND key = ${key} AND route = ${route}`,
        );
        if (seen && seen.requestHash !== hash)
          throw new AppError(
            'validation',
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used with a different request body: use a new key for a different request.',
          );
        if (!seen || seen.statusCode === null)
          throw new AppError(
            'conflict',
            'IDEMPOTENCY_KEY_IN_USE',
            'A request with this Idempotency-Key is still running: retry in a moment.',
            {
              retryAfterSeconds: 1,
            },
          );
        if (seen.statusCode >= 400) {
          // A refusal is replayed as the same error (through the one error handler, with this request's id).
          const e = (seen.response as { kind: AppError['kind']; error: { code: string; message: string; details?: ErrorDetail[] } }) ?? {};
          throw new AppError(e.kind, e.error.code, e.error.message, e.error.details ? { details: e.error.details } : {});
        }
        return { status: seen.statusCode, body: seen.response, replayed: true };
      }
      let answer: IdempotentAnswer;
      try {
        answer = await work();
      } catch (err) {
        const status = err instanceof AppError ? statusOfKind(err.kind) : 500;
        if (status >= 500 || !(err instanceof AppError)) {
          await db.execute(sql`DELETE FROM idempotency_keys WHERE tenant_id = ${tenantId} AND key = ${key} AND route = ${route}`);
        } else {
          const body = {
            kind: err.kind,
            error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
          };
          await db.execute(
            sql`UPDATE idempotency_keys SET status_code = ${status}, response = ${JSON.stringify(body)}::jsonb
                WHERE tenant_id = ${tenantId} AND key = ${key} AND route = ${route}`,
          );
        }
        throw err;
      }
      await db.execute(
        sql`UPDATE idempotency_keys SET status_code = ${answer.status}, response = ${JSON.stringify(answer.body)}::jsonb
            WHERE tenant_id = ${tenantId} AND key = ${key} AND route = ${route}`,
      );
      return { ...answer, replayed: false };
    },
  };
}
export type Idempotency = ReturnType<typeof createIdempotency>;

function statusOfKind(kind: AppError['kind']): number {
  switch (kind) {
    case 'validation':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'gone':
      return 410;
    default:
      return 500;
  }
}
