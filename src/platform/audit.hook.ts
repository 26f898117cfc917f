import type { FastifyInstance, onSendHookHandler } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { AuditRepository } from './audit.repository.ts';
import { PLATFORM_TENANT_ID } from './platform.tables.ts';

/**
 * Records every route that declares `config.audit`: actor, tenant, action, resource, ip, outcome.
 * Written in onSend, before the response leaves: when a client sees the answer, its audit entry exists.
 * Failures (4xx/5xx) are recorded too, as `failure`. The hook is attached to those routes only (at route
 * registration), so the many unaudited serving and collection routes pay nothing for it.
 */
export function registerAuditHook(app: FastifyInstance, repo: AuditRepository): void {
  const record: onSendHookHandler = async (request, reply, payload) => {
    const audit = request.routeOptions.config?.audit;
    if (!audit) return payload;
    const target = request.auditTarget;
    const tenantId = target?.tenantId ?? request.tenantCtx?.tenantId ?? PLATFORM_TENANT_ID;
    const actor = request.actor;
    const ok = reply.statusCode < 400;
    if (!ok && !actor && audit.action.startsWith('auth.')) return payload; // security events cover anonymous auth failures
    try {
      await repo.insert({
        tenantId,
        actorType: actor?.type ?? 'anonymous',
        actorId: actor?.id ?? null,
        action: audit.action,
        resourceType: audit.resourceType,
        resourceId: target?.resourceId ?? (request.params as Record<string, string> | undefined)?.id ?? null,
        outcome: ok ? 'success' : 'failure',
        statusCode: reply.statusCode,
        ip: request.ip,
        userAgent: request.headers['user-agent']?.slice(0, 300) ?? null,
        requestId: String(request.id),
        details: target?.details ?? null,
      });
    } catch (err) {
      request.log.error({ err }, 'audit log write failed');
    }
    return payload;
  };
  app.addHook('onRoute', (route) => {
    if (!route.config?.audit) return;
    const own = route.onSend ? (Array.isArray(route.onSend) ? route.onSend : [route.onSend]) : [];
    route.onSend = [...own, record];
  });
}

/**
 * Records a platform administrator opening a tenant they are not a member of (they act there as its owner), in
 * that tenant's audit log as `platform_admin.open_tenant`: once per session and tenant within an hour, so the
 * tenant sees who came in without one entry per request.
 */
export function createPlatformAdminEntryRecorder(repo: AuditRepository, log: { warn(obj: unknown, msg: string): void }) {
  const seen = new LRUCache<string, true>({ max: 10_000, ttl: 60 * 60_000 });
  return (e: { tenantId: string; userId: string; sessionId: string; ip: string; userAgent: string | null; requestId: string }): void => {
    const key = `${e.sessionId}:${e.tenantId}`;
    if (seen.get(key)) return;
    seen.set(key, true);
    repo
      .insert({
        tenantId: e.tenantId,
        actorType: 'user',
        actorId: e.userId,
        action: 'platform_admin.open_tenant',
        resourceType: 'tenant',
        resourceId: e.tenantId,
        outcome: 'success',
        statusCode: null,
        ip: e.ip,
        userAgent: e.userAgent,
        requestId: e.requestId,
        details: { reason: 'platform administrator without a membership acts as owner' },
      })
      .catch((err: unknown) => {
        seen.delete(key);
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'platform admin entry audit failed');
      });
  };
}
