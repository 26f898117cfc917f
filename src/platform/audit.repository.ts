import { sql } from 'drizzle-orm';
import { type Db, queryRows } from './database.ts';
import { newId } from './ids.ts';

export interface AuditEntry {
  tenantId: string;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: 'success' | 'failure';
  statusCode: number | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditRow extends AuditEntry {
  id: string;
  createdAt: Date;
}

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Exclusive upper bound on id (ids are time-ordered, newest first). */
  cursor?: string | undefined;
  limit: number;
}

export function createAuditRepository(db: Db) {
  return {
    async insert(e: AuditEntry): Promise<void> {
      await db.execute(sql`
        INSERT INTO audit_logs (tenant_id, id, actor_type, actor_id, action, resource_type, resource_id, outcome, status_code, ip, user_agent, request_id, details)
        VALUES (${e.tenantId}, ${newId()}, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.resourceType}, ${e.resourceId}, ${e.outcome},
                ${e.statusCode}, ${e.ip}, ${e.userAgent}, ${e.requestId}, ${e.details ? JSON.stringify(e.details) : null}::jsonb)`);
    },

    /** Newest first, keyset-paginated on the time-ordered id. Always filtered by tenant. */
    async list(tenantId: string, f: AuditFilter): Promise<AuditRow[]> {
      const conds = [sql`tenant_id = ${tenantId}`];
      if (f.action)
        conds.push(
          f.action.endsWith('*') ? sql`action LIKE ${f.action.slice(0, -1).replace(/[%_\\]/g, '\\$&') + '%'}` : sql`action = ${f.action}`,
        );
      if (f.actorId) conds.push(sql`actor_id = ${f.actorId}`);
      if (f.resourceType) conds.push(sql`resource_type = ${f.resourceType}`);
      if (f.resourceId) conds.push(sql`resource_id = ${f.resourceId}`);
      if (f.outcome) conds.push(sql`outcome = ${f.outcome}`);
      if (f.from) conds.push(sql`created_at >= ${f.from.toISOString()}`);
      if (f.to) conds.push(sql`created_at < ${f.to.toISOString()}`);
      if (f.cursor) conds.push(sql`id < ${f.cursor}`);
      return queryRows<AuditRow>(
        db,
        sql`SELECT id, tenant_id AS "tenantId", actor_type AS "actorType", actor_id AS "actorId", action, resource_type AS "resourceType",
                   resource_id AS "resourceId", outcome, status_code AS "statusCode", ip, user_agent AS "userAgent", request_id AS "requestId",
                   details, created_at AS "createdAt"
            FROM audit_logs WHERE ${sql.join(conds, sql` AND `)} ORDER BY id DESC LIMIT ${f.limit}`,
      );
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;
