import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LoupeApp } from '../src/app.ts';
import { loadConfig } from '../src/platform/config.ts';
import { newId, queryOne, queryRows } from '../src/platform/index.ts';
import { createSecretBox, keyFromText } from '../src/platform/secret-box.ts';
import { createTestApp, type TestApp } from './helpers.ts';

/**
 * Issue 22 (backups and keys): rotating LOUPE_SECRETS_KEY (new key, old one as LOUPE_SECRETS_KEY_PREVIOUS)
 * must re-seal EVERY stored secret at the next start, so the previous key can be dropped. Each sealed store
 * gets a value under the old key; after the restart no column of any table holds a value sealed with
 * another key than the new one, and each value still opens to what was stored.
 */
const KEY_A = 'a1'.repeat(32);
const KEY_B = 'b2'.repeat(32);
const boxA = createSecretBox(keyFromText(KEY_A));
const boxB = createSecretBox(keyFromText(KEY_B));

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
const extra: LoupeApp[] = [];
const SHOPIFY_TOKEN = 'shpat_rotation_token_0001';

beforeAll(async () => {
  t = await createTestApp({ LOUPE_SECRETS_KEY: KEY_A });
  A = await t.createTenant('Rotating store');
}, 240_000);
afterAll(async () => {
  for (const a of extra) await a.close();
  await t?.close();
});

async function restartWith(env: Record<string, string>): Promise<LoupeApp> {
  const app = await buildApp(
    loadConfig({ LOUPE_DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000', ...env }),
    { database: t.database },
  );
  extra.push(app);
  return app;
}

/** Every `enc:v1:` value in any text column of the schema, with where it is. */
async function sealedValues(): Promise<{ where: string; value: string }[]> {
  const cols = await queryRows<{ table: string; column: string }>(
    t.database.db,
    sql`SELECT c.table_name AS "table", c.column_name AS "column" FROM information_schema.columns c
        JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
        WHERE c.table_schema = 'public' AND c.data_type = 'text'`,
  );
  const out: { where: string; value: string }[] = [];
  for (const c of cols) {
    const rows = await queryRows<{ v: string }>(
      t.database.db,
      sql`SELECT ${sql.identifier(c.column)} AS v FROM ${sql.identifier(c.table)} WHERE ${sql.identifier(c.column)} LIKE 'enc:v1:%'`,
    );
    for (const r of rows) out.push({ where: `${c.table}.${c.column}`, value: r.v });
  }
  return out;
}

describe('a secrets key rotation re-seals every stored secret', () => {
  const ids: { shopify?: string; source?: string; sso?: string } = {};

  it('stores one secret of each kind under the old key', async () => {
    const conn = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'shopify', name: 'Shop', secret: 'shopify-app-secret-1', settings: { shop_domain: 'rotation.myshopify.com' } },
    });
    expect(conn.status).toBe(201);
    ids.shopify = conn.body.id;
    // No worker runs in this file: the backfill stays queued with its sealed Admin API token.
    const backfill = await t.request('POST', `/api/v1/integrations/${ids.shopify}/backfill`, {
      token: A.ownerToken,
      body: { access_token: SHOPIFY_TOKEN },
    });
    expect(backfill.status).toBeLessThan(300);

    const store = await t.request('POST', '/api/v1/pricing/stores', { token: A.ownerToken, body: { name: 'Net store', network: 'feed' } });
    expect(store.status).toBe(201);
    const source = await t.request('PUT', `/api/v1/pricing/stores/${store.body.id}/network`, {
      token: A.ownerToken,
      body: { network: 'cj', token: 'cj-personal-token-1', company_id: '7001', partner_ids: ['11'], schedule: 'off' },
    });
    expect(source.status).toBeLessThan(300);
    ids.source = source.body.id;

    const settings = await t.request('PUT', '/api/v1/commerce/settings', {
      token: A.ownerToken,
      body: {
        tax_rate_bp: 0,
        tax_inclusive: true,
        shipping_options: [],
        stripe_secret_key: 'sk_test_rotation1',
        stripe_webhook_secret: 'whsec_rotation1',
      },
    });
    expect(settings.status).toBe(200);

    // SSO client secret and Google tokens come from flows with a third party: stored as those flows store them.
    ids.sso = newId();
    await t.database.db.execute(
      sql`INSERT INTO sso_providers (tenant_id, id, name, issuer, client_id, client_secret)
          VALUES (${A.tenantId}, ${ids.sso}, 'Okta', 'https://idp.example.com', 'client-1', ${boxA.seal('sso-client-secret-1', `sso:${A.tenantId}:${ids.sso}`)})`,
    );
    await t.database.db.execute(
      sql`INSERT INTO google_oauth_tokens (tenant_id, access_token_sealed, refresh_token_sealed, expires_at)
          VALUES (${A.tenantId}, ${boxA.seal('ya29.access-1', `google:access:${A.tenantId}`)},
                  ${boxA.seal('1//refresh-1', `google:refresh:${A.tenantId}`)}, now() + interval '1 hour')`,
    );
    // Flows in flight at the rotation (ten-minute SSO sign-in and Google link states): their PKCE verifiers.
    await t.database.db.execute(
      sql`INSERT INTO sso_logins (state_hash, tenant_id, provider_id, browser_key_hash, nonce, code_verifier, expires_at)
          VALUES ('state-hash-1', ${A.tenantId}, ${ids.sso}, 'browser-hash-1', 'nonce-1', ${boxA.seal('sso-verifier-1', 'sso-login:state-hash-1')},
                  now() + interval '10 minutes')`,
    );
    await t.database.db.execute(
      sql`INSERT INTO google_oauth_states (tenant_id, state_hash, code_verifier_sealed, redirect_uri, expires_at)
          VALUES (${A.tenantId}, 'g-state-hash-1', ${boxA.seal('google-verifier-1', `google:pkce:${A.tenantId}`)},
                  'https://loupe.example.com/cb', now() + interval '10 minutes')`,
    );

    const stored = await sealedValues();
    const where = new Set(stored.map((s) => s.where));
    for (const w of [
      'integration_connections.signing_secret',
      'shopify_backfills.access_token',
      'pricing_network_sources.credentials',
      'commerce_settings.stripe_secret_key',
      'commerce_settings.stripe_webhook_secret',
      'sso_providers.client_secret',
      'google_oauth_tokens.access_token_sealed',
      'google_oauth_tokens.refresh_token_sealed',
      'sso_logins.code_verifier',
      'google_oauth_states.code_verifier_sealed',
    ])
      expect(where, w).toContain(w);
    expect(stored.every((s) => s.value.startsWith(`enc:v1:${boxA.keyId}:`))).toBe(true);
  });

  it('after a restart with the new key (old one previous), nothing is sealed with the old key; values open unchanged', async () => {
    await restartWith({ LOUPE_SECRETS_KEY: KEY_B, LOUPE_SECRETS_KEY_PREVIOUS: KEY_A });
    const stale = (await sealedValues()).filter((s) => !s.value.startsWith(`enc:v1:${boxB.keyId}:`));
    expect(stale.map((s) => s.where)).toEqual([]);

    const token = await queryOne<{ v: string }>(
      t.database.db,
      sql`SELECT access_token AS v FROM shopify_backfills WHERE tenant_id = ${A.tenantId} AND connection_id = ${ids.shopify!}`,
    );
    expect(boxB.open(token!.v, `shopify-backfill:${A.tenantId}:${ids.shopify}`)).toBe(SHOPIFY_TOKEN);
    const cred = await queryOne<{ v: string }>(
      t.database.db,
      sql`SELECT credentials AS v FROM pricing_network_sources WHERE tenant_id = ${A.tenantId} AND id = ${ids.source!}`,
    );
    expect(JSON.parse(boxB.open(cred!.v, `pricing-source:${A.tenantId}:${ids.source}`))).toMatchObject({ token: 'cj-personal-token-1' });
    const sso = await queryOne<{ v: string }>(t.database.db, sql`SELECT client_secret AS v FROM sso_providers WHERE id = ${ids.sso!}`);
    expect(boxB.open(sso!.v, `sso:${A.tenantId}:${ids.sso}`)).toBe('sso-client-secret-1');
    const g = await queryOne<{ a: string; r: string }>(
      t.database.db,
      sql`SELECT access_token_sealed AS a, refresh_token_sealed AS r FROM google_oauth_tokens WHERE tenant_id = ${A.tenantId}`,
    );
    expect(boxB.open(g!.a, `google:access:${A.tenantId}`)).toBe('ya29.access-1');
    expect(boxB.open(g!.r, `google:refresh:${A.tenantId}`)).toBe('1//refresh-1');
    // A flow started before the rotation finishes with the new key alone (the previous one may be dropped mid-flow).
    const sl = await queryOne<{ v: string }>(
      t.database.db,
      sql`SELECT code_verifier AS v FROM sso_logins WHERE state_hash = 'state-hash-1'`,
    );
    expect(boxB.open(sl!.v, 'sso-login:state-hash-1')).toBe('sso-verifier-1');
    const gs = await queryOne<{ v: string }>(
      t.database.db,
      sql`SELECT code_verifier_sealed AS v FROM google_oauth_states WHERE state_hash = 'g-state-hash-1'`,
    );
    expect(boxB.open(gs!.v, `google:pkce:${A.tenantId}`)).toBe('google-verifier-1');
    const s = await queryOne<{ k: string; w: string }>(
      t.database.db,
      sql`SELECT stripe_secret_key AS k, stripe_webhook_secret AS w FROM commerce_settings WHERE tenant_id = ${A.tenantId}`,
    );
    expect(boxB.open(s!.k, `commerce:${A.tenantId}:stripe_secret`)).toBe('sk_test_rotation1');
    expect(boxB.open(s!.w, `commerce:${A.tenantId}:stripe_webhook`)).toBe('whsec_rotation1');
  });

  it('a value no configured key opens is left as it is and the server still starts; a second start changes nothing', async () => {
    const garbage = `enc:v1:0badc0de:${Buffer.from('not a sealed value at all, 28+ bytes long').toString('base64url')}`;
    await t.database.db.execute(sql`UPDATE pricing_network_sources SET credentials = ${garbage} WHERE id = ${ids.source!}`);
    const before = await sealedValues();
    await restartWith({ LOUPE_SECRETS_KEY: KEY_B, LOUPE_SECRETS_KEY_PREVIOUS: KEY_A });
    expect(await sealedValues()).toEqual(before);
  });
});
