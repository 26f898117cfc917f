import { type SQL, sql } from 'drizzle-orm';
import { type Db, queryOne, queryRows } from './database.ts';
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

/** Sort keys of GET /audit/logs, a whitelist (each maps to one fixed SQL ordering below). */
export const AUDIT_SORTS = ['created_at', '-created_at', 'action', '-action', 'outcome', '-outcome', 'actor_type', '-actor_type'] as const;
export type AuditSort = (typeof AUDIT_SORTS)[number];

/** One fixed ordering per sort key (never built from input); ties fall back to the id, newest first. */
const AUDIT_ORDER_BY: Record<AuditSort, SQL> = {
  created_at: sql`created_at ASC, id DESC`,
  '-created_at': sql`created_at DESC, id DESC`,
  action: sql`action ASC, id DESC`,
  '-action': sql`action DESC, id DESC`,
  outcome: sql`outcome ASC, id DESC`,
  '-outcome': sql`outcome DESC, id DESC`,
  actor_type: sql`actor_type ASC, id DESC`,
  '-actor_type': sql`actor_type DESC, id DESC`,
};

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface AuditPage {
  /** Exclusive upper bound on id (ids are time-ordered, newest first); not with `sort` or `offset`. */
  cursor?: string | undefined;
  sort?: AuditSort | undefined;
  offset?: number | undefined;
  limit: number;
}

/** The WHERE of a filter, always on the tenant. */
function auditWhere(tenantId: string, f: AuditFilter): SQL {
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
  return sql.join(conds, sql` AND `);
}

export function createAuditRepository(db: Db) {
  return {
    async insert(e: AuditEntry): Promise<void> {
      await db.execute(sql`
        INSERT INTO audit_logs (tenant_id, id, actor_type, actor_id, action, resource_type, resource_id, outcome, status_code, ip, user_agent, request_id, details)
        VALUES (${e.tenantId}, ${newId()}, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.resourceType}, ${e.resourceId}, ${e.outcome},
                ${e.statusCode}, ${e.ip}, ${e.userAgent}, ${e.requestId}, ${e.details ? JSON.stringify(e.details) : null}::jsonb)`);
    },

    /** Newest first keyset pages on the time-ordered id, or sorted offset pages. Always filtered by tenant. */
    async list(tenantId: string, f: AuditFilter & AuditPage): Promise<AuditRow[]> {
      const where = auditWhere(tenantId, f);
      return queryRows<AuditRow>(
        db,
        sql`SELECT id, tenant_id AS "tenantId", actor_type AS "actorType", actor_id AS "actorId", action, resource_type AS "resourceType",
                   resource_id AS "resourceId", outcome, status_code AS "statusCode", ip, user_agent AS "userAgent", request_id AS "requestId",
                   details, created_at AS "createdAt"
            FROM audit_logs WHERE ${where} ${f.cursor ? sql`AND id < ${f.cursor}::uuid` : sql``}
            ORDER BY ${f.sort ? AUDIT_ORDER_BY[f.sort] : sql`id DESC`} LIMIT ${f.limit} OFFSET ${f.offset ?? 0}`,
      );
    },

    /** How many entries match the filter (a paged table's total). */
    async count(tenantId: string, f: AuditFilter): Promise<number> {
      const row = await queryOne<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM audit_logs WHERE ${auditWhere(tenantId, f)}`);
      return row?.n ?? 0;
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;
