/**
 * The platform's public entry: what domain modules may use. Modules import from here only.
 */
export { PUBLISHABLE_DEFAULT_SCOPES, PUBLISHABLE_SCOPES, requirePermission } from './access.ts';
export { normalizeOrigin } from './origins.ts';
export { parseNetworks } from './networks.ts';
export { addressAllowed, guardedLookup, OUTBOUND_PRIVATE_ADDRESS, type PrivatePolicy, resolveTarget } from './outbound.ts';
export { registerTextJsonParser } from './json-body.ts';
export type { Actor, Permission, Role, TenantContext } from './access.ts';
export { requireStepUp, STEP_UP_WINDOW_SECONDS, tenantContext } from './auth.hook.ts';
export type { Authenticator } from './auth.hook.ts';
export type { Config, PlanConfig } from './config.ts';
// Process entries and benches start Loupe with these (modules never call them).
export { loadConfig } from './config.ts';
export { migrateDatabase, openDatabase, tenantScopedPglite } from './database.ts';
export { arrayParam, bindQuery, queryOne, queryRows } from './database.ts';
export type { BoundQuery, Database, Db, Q } from './database.ts';
export { commonSnapshot, currentSnapshot, unseenBy } from './snapshots.ts';
export { afterCommitQueue, inTenant } from './tenant-scope.ts';
export { outsideTenantScope, runInTenantScope } from './tenant-read-scope.ts';
export { AppError, conflict, notFound, validation } from './errors.ts';
export type { ErrorDetail } from './errors.ts';
export { isUuid, newId, randomToken, sha256Hex } from './ids.ts';
export { createIdempotency, idempotencyKeyOf } from './idempotency.ts';
export type { Idempotency } from './idempotency.ts';
export { INTERRUPTED_PREFIX, PermanentJobError } from './jobs.queue.ts';
export type { JobQueue, JobRecord, JobRun } from './jobs.queue.ts';
export { iso, paginate, paginationQuery } from './pagination.ts';
export { toJob } from './platform.routes.ts';
export type { TenantRateLimits } from './rate-limit.ts';
export { tenantRateLimitsOf } from './rate-limit.ts';
export { errorBody, errorResponses, jobSchema } from './schemas.ts';
// ISO 3166-1 alpha-2 country codes (session countries, the reports' country filter).
export { countryOf } from './countries.ts';
export type { ObjectStorage } from './storage.ts';
export type { ScheduledTask } from './scheduler.ts';
export { abortableSleep, backoffMs, createRetryingFetch } from './http.retry.ts';
export { notModified } from './conditional.ts';
export type { RetryInfo, RetryOptions } from './http.retry.ts';
export { createMailer } from './mail.ts';
export type { Mailer } from './mail.ts';
export { SecretUnreadableError } from './secret-box.ts';
export { resealColumn } from './secret-reseal.ts';
export type { SecretBox } from './secret-box.ts';
export type { SecurityEventRepository } from './security-events.ts';
export type { PlatformServices } from './services.ts';
export { parseJsonLossless, quoteBigIntegers } from './json.ts';
export { findUnsafeValue, UNSAFE_TEXT_MESSAGE, unsafeTextReason } from './text.ts';
// Money (ISO 4217 minor units): the rest of money.ts (toMinor, minorToNumber, formatMoneyDisplay, MoneyError ...)
// is exported here when a module first needs it.
export {
  CURRENCIES_BY_EXPONENT,
  currencyExponent,
  divideMinor,
  formatMoney,
  formatMoneyDisplay,
  MAX_MINOR,
  isCurrencyCode,
  minorToMajor,
  minorToNumber,
  parseMoney,
} from './money.ts';
