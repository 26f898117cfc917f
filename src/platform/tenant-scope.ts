import { sql } from 'drizzle-orm';
import type { PgTransactionConfig } from 'drizzle-orm/pg-core';
import { type Db, queryRows } from './database.ts';
import { TENANT_ROLE, TENANT_SETTING } from './row-level-security.ts';

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * THE tenant unit of work: runs `fn` in a transaction that can only see and write `tenantId`'s rows of every
 * tenant-owned table, whatever SQL `fn` runs (a repository that forgets its `tenant_id` filter reads no foreign
 * row, and an UPDATE or DELETE without it touches none; an INSERT of a foreign row fails). One extra statement per
 * transaction. Tables without `tenant_id` (tenants, users, ...) are reachable as before.
 *
 * Not for work across tenants: that runs as the connecting role (`db.transaction` or `db` itself) and says why.
 * Full-text and trigram predicates are not leakproof, so PostgreSQL will not use their indexes under a policy:
 * keep such reads outside (catalog search does).
 */
export async function inTenant<T>(
  db: Pick<Db, 'transaction'>,
  tenantId: string,
  fn: (tx: Db) => Promise<T>,
  config?: PgTransactionConfig,
): Promise<T> {
  // A malformed id would fail the cast inside the policy on every row: refuse it here, by name.
  if (!UUID_TEXT.test(tenantId)) throw new Error('inTenant: the tenant id is not a UUID');
  return db.transaction(async (tx) => {
    await queryRows(
      tx as unknown as Db,
      sql`SELECT set_config('role', ${TENANT_ROLE}, true), set_config(${TENANT_SETTING}, ${tenantId}, true)`,
    );
    return fn(tx as unknown as Db);
  }, config);
}

/**
 * Callbacks to run once the caller's transaction has committed (for example events' listeners for a write made inside
 * it, `events.write(..., { within: tx, afterCommit: queue.add })`): added during the transaction, `run` after it
 * resolved; after a rollback the queue is simply never run.
 */
export function afterCommitQueue() {
  const callbacks: (() => void)[] = [];
  return {
    add: (callback: () => void): void => {
      callbacks.push(callback);
    },
    run: (): void => {
      for (const f of callbacks.splice(0)) f();
    },
  };
}
