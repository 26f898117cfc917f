/**
 * The platform's public entry: what domain modules may use. Modules import from here only.
 */
export {
  API_KEY_SCOPES,
  PERMISSIONS,
  ROLES,
  ROLE_PERMISSIONS,
  can,
  permissionsForScopes,
  requirePermission,
  systemContext,
} from './access.ts';
export type { Actor, ApiKeyScope, Permission, Role, TenantContext } from './access.ts';
export { STEP_UP_WINDOW_SECONDS, tenantContext } from './auth.hook.ts';
export type { Authenticator } from './auth.hook.ts';
export type { Config } from './config.ts';
// Process entries and benches start Loupe with these (modules never call them).
export { loadConfig } from './config.ts';
export { migrateDatabase, openDatabase } from './database.ts';
export { arrayParam, queryOne, queryRows } from './database.ts';
export type { Database, Db, Queryable } from './database.ts';
export { AppError, conflict, forbidden, notFound, unauthenticated, validation } from './errors.ts';
export type { ErrorDetail, ErrorKind } from './errors.ts';
export { constantTimeEqual, isUuid, newId, randomToken, sha256Hex } from './ids.ts';
export { INTERRUPTED_PREFIX, PermanentJobError } from './jobs.queue.ts';
export type { JobDefinition, JobQueue, JobRecord, JobRun } from './jobs.queue.ts';
export { iso, paginate, paginationQuery } from './pagination.ts';
export { PLATFORM_TENANT_ID } from './platform.tables.ts';
export { toJob } from './platform.routes.ts';
export type { RateLimit, TenantRateLimits, TenantRateClass } from './rate-limit.ts';
export { tenantRateLimitsOf } from './rate-limit.ts';
export { redactPii } from './redact.ts';
export { errorBody, errorResponses, jobSchema } from './schemas.ts';
export type { ObjectStorage } from './storage.ts';
export { SecretUnreadableError } from './secret-box.ts';
export type { SecretBox } from './secret-box.ts';
export type { RouteAuth, RateGroup, RouteAudit } from './http.types.ts';
export { createSecurityEventRepository } from './security-events.ts';
export type { SecurityEventRepository, SecurityEventType } from './security-events.ts';
export type { PlatformServices } from './services.ts';
export { parseJsonLossless, quoteBigIntegers } from './json.ts';
export { findUnsafeValue, safeString, UNSAFE_TEXT_MESSAGE, unsafeTextReason } from './text.ts';
export type { UnsafeValue } from './text.ts';
// Money (ISO 4217 minor units): the rest of money.ts (toMinor, minorToNumber, formatMoneyDisplay, MoneyError ...)
// is exported here when a module first needs it.
export {
  CURRENCIES_BY_EXPONENT,
  currencyExponent,
  divideMinor,
  formatMoney,
  MAX_MINOR,
  isCurrencyCode,
  minorToMajor,
  parseMoney,
} from './money.ts';
export { currencyCode } from './schemas.ts';
