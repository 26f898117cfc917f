/**
 * How many SQL statements a checkout sends, counted on PostgreSQL with `DatabaseOptions.onStatement` (every statement
 * every pooled connection sends, BEGIN and COMMIT included): a completion's server CPU is mostly its statements,
 * and a statement per cart line would grow with the cart. The count stays under a bound and does not grow by a
 * statement per line. The embedded database runs the same code path (no hook there: skipped).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../platform/database.ts';
import { createTestApp, createTestDatabase, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

const onPostgres = inject('dbTarget') === 'postgres';
/**
 * Statements of one completion of a cart (BEGIN/COMMIT included, no webhook endpoint); 42 for a one-line cart two
 * sessions ago, 39 before the Stripe key came from the settings the cart read was priced with (38 since).
 */
const BOUND = 38;

let database: Database;
let t: TestApp;
let stripe: StripeTestServer;
let key: string;
let capturing = false;
const captured: string[] = [];

beforeAll(async () => {
  if (!onPostgres) return;
  database = await createTestDatabase({
    onStatement: (text) => {
      if (capturing) captured.push(text.replace(/\s+/g, ' ').trim());
    },
  });
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url }, { database });
  const a = await t.createTenant('Statements store');
  key = await a.apiKey(['commerce:write']);
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: a.ownerToken,
    body: {
      tax_rate_bp: 1000,
      tax_inclusive: false,
      shipping_options: [{ id: 'std', name: 'Standard', amount: 500, currency: 'USD' }],
      // no webhook endpoint: Stripe's deliveries would land in the counted window at random
      stripe_secret_key: 'sk_test_statements',
    },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(200);
  await t.modules.catalog.upsertItems(
    a.tenantId,
    Array.from({ length: 8 }, (_, i) => ({
      itemId: `item-${i}`,
      name: `Item ${i}`,
      priceMinor: 1000n + BigInt(i),
      currency: 'USD',
      stock: 100,
    })),
  );
}, 120_000);

afterAll(async () => {
  if (!onPostgres) return;
  await t?.close();
  await database?.close();
  await stripe?.close();
});

/** Statements sent while one cart of `lines` lines completes. */
async function completionStatements(shopper: string, lines: number): Promise<string[]> {
  let cartId = '';
  for (let i = 0; i < lines; i++) {
    const r = await t.request('POST', '/api/v1/cart/items', { token: key, body: { user_id: shopper, item_id: `item-${i}`, quantity: 1 } });
    expect(r.status).toBeLessThan(300);
    cartId = r.body.id;
  }
  // work the cart writes started in the background (style profiles) settles first
  await new Promise((r) => setTimeout(r, 1500));
  captured.length = 0;
  capturing = true;
  const done = await t.request('POST', '/api/v1/cart/complete', { token: key, body: { cart_id: cartId, payment_method: 'pm_card_visa' } });
  capturing = false;
  expect(done.status).toBe(201);
  expect(done.body.order.status).toBe('paid');
  return [...captured];
}

describe.skipIf(!onPostgres)('checkout statements', () => {
  it(`a completion sends at most ${BOUND} statements, and not one more per line`, async () => {
    await completionStatements('warm-up', 1);
    const one = await completionStatements('one-line', 1);
    const five = await completionStatements('five-lines', 5);
    // CHECKOUT_CENSUS=1: the statements of the five-line completion, in order
    if (process.env.CHECKOUT_CENSUS) console.log(one.length, five.length, five.map((x) => x.slice(0, 160)).join('\n'));
    expect(one.length).toBeLessThanOrEqual(BOUND);
    expect(five.length).toBeLessThanOrEqual(BOUND);
    expect(five.length - one.length).toBeLessThan(4);
    // the checkout settings are read with the cart (its rules version, the cached rules), never on their own
    for (const run of [one, five]) expect(run.filter((x) => /^SELECT tax_rate_bp\b/.test(x))).toEqual([]);
  }, 60_000);
});
