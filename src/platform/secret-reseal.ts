import { sql } from 'drizzle-orm';
import { type Q, queryRows } from './database.ts';
import { type SecretBox, SecretUnreadableError } from './secret-box.ts';

export interface SealedColumn {
  /** The owner's table and its column of sealed values (identifiers, never user input). */
  table: string;
  column: string;
  /** The column that tells a tenant's rows apart, when a tenant has several (the row's id). */
  rowKey?: string;
  /** The context each value was sealed with (see `SecretBox`), from the row's tenant and key. */
  context: (tenantId: string, rowKey: string | null) => string;
}

/**
 * A start-up step after a key rotation, for one column of sealed values across tenants: every value not sealed
 * with the current key (clear text from before encryption, or a previous key) is opened and sealed again, and
 * written only while it is still the value read (compare-and-set: a concurrent change wins). A value no
 * configured key opens is counted as unreadable and left as it is. The owning module calls it with its own table.
 */
export async function resealColumn(q: Q, secrets: SecretBox, c: SealedColumn): Promise<{ resealed: number; unreadable: number }> {
  const table = sql.identifier(c.table);
  const column = sql.identifier(c.column);
  const key = c.rowKey ? sql.identifier(c.rowKey) : null;
  const rows = await queryRows<{ tenantId: string; rowKey: string | null; v: string }>(
    q,
    sql`SELECT tenant_id AS "tenantId", ${key ?? sql`NULL`} AS "rowKey", ${column} AS v FROM ${table}
        WHERE ${column} NOT LIKE ${`enc:v1:${secrets.keyId}:%`}`,
  );
  return resealRows(
    secrets,
    rows,
    (r) => ({ sealed: r.v, context: c.context(r.tenantId, r.rowKey) }),
    async (r, sealed) =>
      (
        await queryRows(
          q,
          sql`UPDATE ${table} SET ${column} = ${sealed}
              WHERE tenant_id = ${r.tenantId} ${key ? sql`AND ${key} = ${r.rowKey}` : sql``} AND ${column} = ${r.v} RETURNING tenant_id`,
        )
      ).length > 0,
  );
}

/**
 * A start-up step for one column of sealed values: each row's value that is not sealed with the current key
 * (clear text from before encryption, or a previous key) is opened and sealed again, then written by `write`
 * (a compare-and-set on the old value, so a concurrent change wins; it answers whether it wrote). A value no
 * configured key opens is counted as unreadable and left as it is.
 */
async function resealRows<R>(
  secrets: SecretBox,
  rows: readonly R[],
  value: (row: R) => { sealed: string; context: string },
  write: (row: R, resealed: string) => Promise<boolean>,
): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0;
  let unreadable = 0;
  for (const row of rows) {
    const { sealed, context } = value(row);
    if (!secrets.needsReseal(sealed)) continue;
    let plain: string;
    try {
      plain = secrets.open(sealed, context);
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      unreadable++;
      continue;
    }
    if (await write(row, secrets.seal(plain, context))) resealed++;
  }
  return { resealed, unreadable };
}
