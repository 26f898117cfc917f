import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId } from '../../platform/index.ts';

/**
 * Erasure of a person's experiment units (`p:<profile>`, `u:<user id>`, `a:<anonymous id>`, see units.ts), in
 * identity's erasure transaction. Each unit is replaced by a fresh random pseudonym, the same in assignments and
 * metric events, so finished reports still count the unit once with its variant and outcomes, but nothing ties it
 * to the person any more. Metric events' dedupe keys (order or client event ids) are replaced by their row ids.
 */
export async function eraseUnits(
  q: Q,
  tenantId: string,
  who: { profileIds: readonly string[]; userIds: readonly string[]; anonymousIds: readonly string[] },
): Promise<void> {
  const units = [...who.profileIds.map((p) => `p:${p}`), ...who.userIds.map((u) => `u:${u}`), ...who.anonymousIds.map((a) => `a:${a}`)];
  if (!units.length) return;
  const pseudonyms = units.map(() => `erased:${newId()}`);
  const map = sql`unnest(${arrayParam(units)}::text[], ${arrayParam(pseudonyms)}::text[]) AS m(old_id, new_id)`;
  await q.execute(
    sql`UPDATE experiment_assignments a SET unit_id = m.new_id, changed_xid = pg_current_xact_id() FROM ${map} WHERE a.tenant_id = ${tenantId} AND a.unit_id = m.old_id`,
  );
  // Rollups' unit states follow the pseudonym (the unit's value is unchanged: its events move with it).
  await q.execute(
    sql`UPDATE experiment_unit_metrics s SET unit_id = m.new_id FROM ${map} WHERE s.tenant_id = ${tenantId} AND s.unit_id = m.old_id`,
  );
  await q.execute(
    sql`UPDATE experiment_metric_events e SET unit_id = m.new_id, dedupe_key = 'erased:' || e.id::text FROM ${map} WHERE e.tenant_id = ${tenantId} AND e.unit_id = m.old_id`,
  );
}
