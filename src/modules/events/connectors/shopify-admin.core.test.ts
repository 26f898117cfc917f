import { describe, expect, it } from 'vitest';
import { mapShopify } from './shopify.core.ts';
import {
  legacyId,
  missingScopeOf,
  orderAsWebhook,
  pageOf,
  productAsItem,
  throttleStatusOf,
  waitForPointsMs,
} from './shopify-admin.core.ts';

describe('Shopify Admin API core', () => {
  it('waits exactly until the bucket restores the points a query needs, bounded', () => {
    const s = { maximumAvailable: 1000, currentlyAvailable: 100, restoreRate: 50 };
    expect(waitForPointsMs(s, 50)).toBe(0);
    expect(waitForPointsMs(s, 300)).toBe(4000);
    expect(waitForPointsMs(s, 5000)).toBe(18_000); // capped at the bucket's size
    expect(waitForPointsMs({ ...s, restoreRate: 0.001 }, 900)).toBe(60_000);
    expect(waitForPointsMs(null, 10)).toBe(1000);
    expect(throttleStatusOf({ cost: { requestedQueryCost: 12, throttleStatus: { ...s, restoreRate: -1 } } })).toEqual({
      requested: 12,
      status: null,
    });
  });

  it('reads ids, pages and scopes defensively', () => {
    expect(legacyId({ id: 'gid://shopify/Order/450789469' })).toBe('450789469');
    expect(legacyId({ legacyResourceId: '12', id: 'gid://shopify/Order/99' })).toBe('12');
    expect(legacyId({ id: 'gid://shopify/Order/../../x' })).toBeNull();
    expect(pageOf({ orders: { pageInfo: { hasNextPage: true, endCursor: null }, nodes: [1] } }, 'orders')).toEqual({
      nodes: [{}],
      hasNextPage: false,
      endCursor: null,
    });
    expect(missingScopeOf('Access denied for orders field. Required access: `read_orders` access scope.', null)).toBe('read_orders');
    expect(missingScopeOf('nope', 'customers')).toBe('read_customers');
  });

  it('turns a GraphQL order into the webhook body: the same event ids as orders/create', () => {
    const body = orderAsWebhook({
      id: 'gid://shopify/Order/5',
      currencyCode: 'EUR',
      customer: { id: 'gid://shopify/Customer/7', email: 'a@example.com' },
      lineItems: {
        nodes: [
          {
            id: 'gid://shopify/LineItem/9',
            quantity: 2,
            product: { id: 'gid://shopify/Product/3' },
            originalUnitPriceSet: { shopMoney: { amount: '4.50' } },
          },
        ],
      },
    })!;
    const fromBackfill = mapShopify('orders/create', body, new Date(0)).events[0]!.row;
    const fromWebhook = mapShopify(
      'orders/create',
      { id: 5, currency: 'EUR', customer: { id: 7 }, line_items: [{ id: 9, product_id: 3, quantity: 2, price: '4.50' }] },
      new Date(0),
    ).events[0]!.row;
    expect(fromBackfill.eventId).toBe(fromWebhook.eventId);
    expect(fromBackfill).toMatchObject({ itemId: '3', priceMinor: 450n, currency: 'EUR', quantity: 2, userId: '7' });
  });

  it('cleans unsafe text and refuses prices out of range per product', () => {
    const ok = productAsItem(
      { id: 'gid://shopify/Product/1', title: 'A\u0000B \ud800C', variants: { nodes: [{ price: '1.005' }] } },
      'USD',
    );
    expect(ok.ok).toBe(false); // three decimals for USD: no price is better than a wrong one
    const clean = productAsItem({ id: 'gid://shopify/Product/1', title: 'A\u0000B \ud800C', tags: ['\udc00', 'x'] }, 'USD');
    expect(clean).toMatchObject({ ok: true, item: { itemId: '1', name: 'AB C', tags: ['x'], priceMinor: null } });
    expect(productAsItem({ id: 'gid://shopify/Product/2', title: 'T', variants: { nodes: [{ price: '1e30' }] } }, 'USD').ok).toBe(false);
    expect(
      productAsItem({ id: 'gid://shopify/Product/2', title: 'T', variants: { nodes: [{ price: '99999999999999999.99' }] } }, 'USD').ok,
    ).toBe(false);
    expect(productAsItem({ title: 'no id' }, 'USD')).toEqual({ ok: false, id: null, reason: 'product without an id' });
  });
});
