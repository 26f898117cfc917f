import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request's tenant, for row-level security on the reads that run OUTSIDE an explicit transaction (every
 * repository's reads): while a scope is active, the database handle runs each such read in its own short transaction as the tenant role with the scope's tenant set (`database.ts`,
 * `tenantSettings`), so a repository that forgets its `tenant_id` filter still reads no foreign row. The platform
 * opens the scope for every tenant route once the tenant is resolved (`auth.hook.ts`); explicit transactions are
 * untouched (tenant writes already set the tenant through `inTenant`; a bare `db.transaction` is system work).
 *
 * The scope follows every promise and timer the request starts, so work shared across requests and tenants that a
 * request may kick off (the job queue's poll, the ingest batcher's flush, coalesced lookups) leaves it with
 * `outsideTenantScope` where it is started.
 */
const scope = new AsyncLocalStorage<string | undefined>();

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs `fn` with `tenantId` as the tenant of every statement outside a transaction (see above). */
export function runInTenantScope<T>(tenantId: string, fn: () => T): T {
  // The id ends up in the SQL text of the scope's BEGIN: only a well-formed UUID may get there.
  if (!UUID_TEXT.test(tenantId)) throw new Error('runInTenantScope: the tenant id is not a UUID');
  return scope.run(tenantId.toLowerCase(), fn);
}

/**
 * Runs `fn` as the connecting role even inside a request's tenant scope: for system work a tenant request does
 * on purpose (say why at the call), and for reads whose predicates PostgreSQL cannot push below a policy
 * (full-text and trigram operators are not leakproof, so their indexes go unused under RLS).
 */
export function outsideTenantScope<T>(fn: () => T): T {
  return scope.run(undefined, fn);
}

/** The active scope's tenant id, or undefined (system work, or no request). */
export function currentScopeTenant(): string | undefined {
  return scope.getStore();
}
