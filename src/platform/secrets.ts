import { sql } from 'drizzle-orm';
import { type Db, queryOne } from './database.ts';
import { randomToken } from './ids.ts';

/**
 * A server secret (e.g. the JWT signing key): from configuration when given, otherwise generated once and
 * kept in the database so that every replica and every restart shares it.
 */
export async function ensureSecret(db: Db, name: string, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const key = `secret:${name}`;
  await db.execute(
    sql`INSERT INTO platform_settings (key, value) VALUES (${key}, ${JSON.stringify(randomToken(64))}::jsonb) ON CONFLICT (key) DO NOTHING`,
  );
  const row = await queryOne<{ value: string }>(db, sql`SELECT value FROM platform_settings WHERE key = ${key}`);
  return row!.value;
}
