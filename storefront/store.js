// Loupe's reference storefront (issue 14): plain browser JavaScript, no build, no framework, every call through
// Loupe's public HTTP API with the store's site key (pk_live_, scope commerce:shop) and a signed shopper token.
// Built with Loupe's SDK (the script-tag build at /sdk/loupe.js, global `Loupe`): its tracker records page views
// and interactions (Segment's e-commerce events to /v1/batch, batched, offline-safe), and its
// <loupe-recommendations> widget renders recommendations and similar items (impressions and clicks tracked).
// Orders are NOT tracked here: commerce writes each paid order into events once ("Order Completed" from the page
// would count it twice). `api` is the fetch layer for the rest (catalog, cart, checkout, orders, best offers).
// Pages (hash routes): home with recommendations, search with autocomplete, category, product with similar
// items and the best offer, cart with refresh notices, checkout, order confirmation, order history, account.
//
// Who the shopper is comes only from a token Loupe signed: a fresh anonymous visitor's (asked for with the site
// key), or a customer's, which only the store's own server can mint (POST /api/v1/commerce/shopper-tokens with
// its secret key) and hands over in a sign-in link ending in #shopper_token=…. The site key alone reaches no cart.

const slug = decodeURIComponent(location.pathname.split('/')[2] || 'store');
const slot = (name) => `loupe-store:${slug}:${name}`;
const KEY_SLOT = slot('key');
const ANON_TOKEN_SLOT = slot('anonymous_token');
const CUSTOMER_TOKEN_SLOT = slot('customer_token');
const LAST_ORDER_SLOT = slot('last_order');

// The merchant's links carry the key and a customer's token in the fragment (never sent to a server): keep them,
// then clean the address bar.
function takeFragment() {
  const key = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  const token = /(?:^#|&)shopper_token=([^&]+)/.exec(location.hash);
  if (key) localStorage.setItem(KEY_SLOT, decodeURIComponent(key[1]));
  if (key || token) history.replaceState(null, '', `${location.pathname}#/`);
  return token ? decodeURIComponent(token[1]) : null;
}
let signInToken = takeFragment();
const apiKey = localStorage.getItem(KEY_SLOT);

/** A token's claims, read (not verified: the server verifies) to know whom it names and until when. */
function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const c = JSON.parse(atob(part));
    return c && typeof c.sub === 'string' && typeof c.exp === 'number' && c.exp * 1000 > Date.now() + 30_000 ? c : null;
  } catch {
    return null;
  }
}
const liveToken = (name) => {
  const token = localStorage.getItem(name);
  return token && claimsOf(token) ? token : null;
};
const customerToken = () => liveToken(CUSTOMER_TOKEN_SLOT);
const anonymousToken = () => liveToken(ANON_TOKEN_SLOT);
const userId = () => (customerToken() ? claimsOf(customerToken()).sub : null);
const anonymousId = () => (anonymousToken() ? claimsOf(anonymousToken()).sub : null);

// ---- the SDK: tracker and widget ----
/** The SDK's own storage names for this store (its cookie `<prefix>_aid` and local storage `<prefix>.aid`). */
const SDK_PREFIX = `loupe_store_${slug.replace(/[^A-Za-z0-9]/g, '_').slice(0, 60)}`;
let tracker = null;
/**
 * Starts the SDK's tracker for this store: the visitor's anonymous id is the shopper token's (so the visitor's page
 * views, cart and orders are one person), the signed-in customer is identified. No SDK (not built, blocked): the
 * store works untracked.
 */
function startTracking() {
  const sdk = window.Loupe;
  if (!sdk || typeof sdk.init !== 'function') return;
  const anon = anonymousId();
  if (anon) {
    document.cookie = `${SDK_PREFIX}_aid=${encodeURIComponent(anon)}; path=/; max-age=31536000; samesite=lax`;
    localStorage.setItem(`${SDK_PREFIX}.aid`, anon);
  }
  tracker = sdk.init({ writeKey: apiKey, host: location.origin, page: false, storagePrefix: SDK_PREFIX });
  if (userId()) tracker.identify(userId());
}
/** Segment's e-commerce event through the SDK (never throws; nothing when the SDK is missing). */
const track = (event, properties) => tracker?.track(event, properties);
const pageView = (name) => tracker?.page(name);
/** The SDK's widget: recommendations for the shopper (`item`: similar to that item), links to the product pages. */
function widget(heading, attrs = {}) {
  return h('loupe-recommendations', {
    heading,
    count: 8,
    'href-template': '#/product/{item_id}',
    ...(attrs.item ? { item: attrs.item } : userId() ? { user: userId() } : {}),
  });
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let anonymousPending = null;
/** This browser's anonymous shopper token, asked for once and kept until it expires. */
function ensureAnonymous() {
  if (anonymousToken()) return Promise.resolve();
  anonymousPending ??= api
    .send('POST', '/v1/commerce/shopper-tokens', { body: {} })
    .then((t) => localStorage.setItem(ANON_TOKEN_SLOT, t.token))
    .finally(() => {
      anonymousPending = null;
    });
  return anonymousPending;
}

/** The fetch layer: JSON in and out, the site key as a bearer token, the shopper's token beside it. */
const api = {
  async send(method, path, { query, body, headers, token } = {}) {
    const qs = query ? `?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null))}` : '';
    const shopperToken = token ?? customerToken() ?? anonymousToken();
    const res = await fetch(`/api${path}${qs}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(shopperToken ? { 'x-shopper-token': shopperToken } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok)
      throw new ApiError(res.status, data?.error?.code ?? 'HTTP_ERROR', data?.error?.message ?? `The store answered ${res.status}.`);
    return data;
  },
  /** A call for the shopper: with their token; a token the server no longer takes is dropped and the call retried once. */
  async call(method, path, opts) {
    await ensureAnonymous();
    try {
      return await api.send(method, path, opts);
    } catch (err) {
      if (!(err instanceof ApiError) || !/^SHOPPER_TOKEN_(EXPIRED|INVALID)$/.test(err.code)) throw err;
      localStorage.removeItem(customerToken() ? CUSTOMER_TOKEN_SLOT : ANON_TOKEN_SLOT);
      setAccountLink();
      await ensureAnonymous();
      return api.send(method, path, opts);
    }
  },
  items: (query) => api.call('GET', '/v1/items', { query }),
  /** Seed 000's product page (Pricing): the best offer across the stores' feeds, with Omnibus savings. */
  product: (id) => api.call('GET', `/v1/products/${encodeURIComponent(id)}`),
  item: (id) => api.call('GET', `/v1/items/${encodeURIComponent(id)}`),
  search: (q) => api.call('GET', '/v1/items/search', { query: { q, limit: 24 } }),
  autocomplete: (q) => api.call('GET', '/v1/items/autocomplete', { query: { q, limit: 6 } }),

  // The cart calls name no shopper: the shopper token does.
  cart: () => api.call('GET', '/v1/cart'),
  addItem: (itemId, quantity) => api.call('POST', '/v1/cart/items', { body: { item_id: itemId, quantity } }),
  setQuantity: (lineId, quantity) => api.call('PATCH', `/v1/cart/items/${lineId}`, { body: { quantity } }),
  removeLine: (lineId) => api.call('DELETE', `/v1/cart/items/${lineId}`),
  applyCode: (code) => api.call('POST', '/v1/cart/promotions', { body: { code } }),
  removeCode: (code) => api.call('DELETE', `/v1/cart/promotions/${encodeURIComponent(code)}`),
  shippingOptions: (currency) => api.call('GET', '/v1/cart/shipping-options', { query: { currency } }),
  setShipping: (cartId, body) => api.call('POST', '/v1/cart/shipping', { body: { cart_id: cartId, ...body } }),
  complete: (cartId, paymentMethod, idempotencyKey) =>
    api.call('POST', '/v1/cart/complete', {
      body: { cart_id: cartId, payment_method: paymentMethod },
      headers: { 'idempotency-key': idempotencyKey },
    }),
  /** Sign-in: the customer's token (from the store's server) and the visitor's own token, so their carts merge. */
  merge: async (token) => {
    await ensureAnonymous();
    return api.send('POST', '/v1/cart/merge', { token, body: { anonymous_token: anonymousToken() } });
  },
  orders: () => api.call('GET', '/v1/cart/orders', { query: { limit: 20 } }),
};

/** A sign-in link's token: the visitor's cart joins the customer's, then the customer's token is the shopper's. */
async function signInWith(token) {
  try {
    await api.merge(token);
    localStorage.setItem(CUSTOMER_TOKEN_SLOT, token);
    tracker?.identify(userId());
  } catch (err) {
    show(errorBox(err), h('p', {}, 'This sign-in link did not work: ask the store for a new one.'));
    throw err;
  } finally {
    setAccountLink();
  }
}

// ---- small DOM helpers: text is always set as text, never parsed as HTML ----
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const main = () => document.getElementById('main');
function show(...nodes) {
  main().replaceChildren(...nodes);
}
const errorBox = (err) =>
  h('p', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.message : 'Something went wrong. Try again.');
const loading = () => h('p', { class: 'muted' }, 'Loading…');

/** Minor units of `currency` as the shopper reads them (the currency's own number of decimals). */
function money(minor, currency) {
  if (minor === null || minor === undefined || !currency) return '';
  const fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
  return fmt.format(Number(minor) / 10 ** digits);
}

function productCard(item) {
  return h(
    'li',
    { class: 'card' },
    h('a', { href: `#/product/${encodeURIComponent(item.item_id)}` }, item.name),
    h('div', { class: 'muted' }, item.brand || item.category || ''),
    h(
      'div',
      {},
      item.price_minor !== undefined
        ? money(item.price_minor, item.currency)
        : item.price !== null
          ? `${item.price} ${item.currency ?? ''}`
          : '',
    ),
  );
}
const grid = (items, label) => h('ul', { class: 'grid', 'aria-label': label }, items.map(productCard));

async function refreshCartCount() {
  try {
    const cart = await api.cart();
    const n = cart.items.filter((l) => l.available).reduce((a, l) => a + l.quantity, 0);
    document.getElementById('cart-link').textContent = `Cart (${n})`;
  } catch {
    /* the count is a hint; the cart page shows the error */
  }
}

// ---- pages ----
async function home() {
  show(h('h1', {}, 'Welcome'), loading());
  const items = await api.items({ limit: 24 });
  const categories = [...new Set(items.data.map((i) => i.category).filter(Boolean))].slice(0, 12);
  show(
    h('h1', {}, 'Welcome'),
    widget('Recommended for you'),
    categories.length
      ? h(
          'section',
          { 'aria-labelledby': 'cat-title' },
          h('h2', { id: 'cat-title' }, 'Categories'),
          h(
            'ul',
            { class: 'pills' },
            categories.map((c) => h('li', {}, h('a', { href: `#/category/${encodeURIComponent(c)}` }, c))),
          ),
        )
      : null,
    h(
      'section',
      { 'aria-labelledby': 'all-title' },
      h('h2', { id: 'all-title' }, 'Products'),
      items.data.length ? grid(items.data, 'Products') : h('p', { class: 'muted' }, 'No products yet.'),
    ),
  );
}

async function category(name) {
  show(h('h1', {}, name), loading());
  const items = await api.items({ category: name, limit: 48 });
  show(h('h1', {}, name), items.data.length ? grid(items.data, name) : h('p', { class: 'muted' }, 'Nothing in this category yet.'));
}

async function search(q) {
  show(h('h1', {}, `Search: ${q}`), loading());
  const out = await api.search(q);
  show(
    h('h1', {}, `Search: ${q}`),
    h('p', { class: 'muted' }, `${out.total} result${out.total === 1 ? '' : 's'}${out.mode === 'fuzzy' ? ' (close matches)' : ''}`),
    out.data.length ? grid(out.data, 'Search results') : h('p', {}, 'No products match. Try another word.'),
  );
  track('Products Searched', { query: q.slice(0, 200) });
}

/** The best offer across the stores' feeds (Pricing), when there is one: price, store, Omnibus savings. */
async function bestOffer(itemId) {
  const box = document.getElementById('best-offer');
  try {
    const p = await api.product(itemId);
    const best = p.pricing.best_offer;
    if (!best || !box) return;
    box.replaceChildren(
      h('h2', { id: 'offer-title' }, 'Best offer'),
      h(
        'p',
        {},
        h('strong', {}, best.price),
        ` at ${best.store}`,
        best.savings_minor !== '0' ? ` — you save ${best.savings} (lowest of the last 30 days: ${best.was_price})` : '',
        ' ',
        best.affiliate_link ? h('a', { href: best.affiliate_link, rel: 'noopener nofollow', target: '_blank' }, 'Go to store') : null,
      ),
    );
  } catch {
    /* no offers for this item: the page stands on its own */
  }
}

async function product(itemId) {
  show(loading());
  const item = await api.item(itemId);
  const line = { product_id: itemId, name: item.name, currency: item.currency, price: item.price };
  track('Product Viewed', line);
  const qty = h('input', { id: 'qty', type: 'number', min: 1, max: 9999, value: 1, inputmode: 'numeric' });
  const status = h('div', { role: 'status' });
  const add = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        add.disabled = true;
        status.replaceChildren();
        try {
          const quantity = Number(qty.value);
          if (!Number.isInteger(quantity) || quantity < 1) throw new ApiError(400, 'QUANTITY', 'Enter a whole number of at least 1.');
          await api.addItem(itemId, quantity);
          track('Product Added', { ...line, quantity });
          status.replaceChildren(h('p', { class: 'ok' }, `Added to your cart. `, h('a', { href: '#/cart' }, 'View cart')));
          await refreshCartCount();
        } catch (err) {
          status.replaceChildren(errorBox(err));
        } finally {
          add.disabled = false;
        }
      },
    },
    'Add to cart',
  );
  const unavailable = item.availability === 'out_of_stock' || item.availability === 'discontinued';
  show(
    h('h1', {}, item.name),
    item.brand ? h('p', { class: 'muted' }, item.brand) : null,
    h('p', { class: 'price' }, money(item.price_minor, item.currency)),
    item.description ? h('p', {}, item.description) : null,
    unavailable ? h('p', { class: 'notice bad' }, 'Out of stock') : h('div', {}, h('label', { for: 'qty' }, 'Quantity '), qty, ' ', add),
    status,
    h('section', { 'aria-labelledby': 'offer-title', id: 'best-offer' }),
    widget('Similar items', { item: itemId }),
  );
  await bestOffer(itemId);
}

function totalsTable(c) {
  const row = (label, amount, strong) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, label),
      h('td', { class: 'num' }, strong ? h('strong', {}, money(amount, c.currency_code)) : money(amount, c.currency_code)),
    );
  return h(
    'table',
    { 'aria-label': 'Totals' },
    h(
      'tbody',
      {},
      row('Items', c.item_subtotal),
      c.discount_total ? row('Discount', -c.discount_total) : null,
      c.shipping_method ? row(`Shipping (${c.shipping_method.name})`, c.shipping_total) : null,
      row('Tax', c.tax_total),
      row('Total', c.total, true),
    ),
  );
}

async function cartPage() {
  show(h('h1', {}, 'Your cart'), loading());
  const c = await api.cart();
  const notices = [
    ...c.notices.map((n) =>
      h('p', { class: `notice ${n.type === 'savings_available' || n.type === 'back_in_stock' ? '' : 'bad'}`, role: 'status' }, n.message),
    ),
    ...c.refused_promotions.map((p) => h('p', { class: 'notice bad' }, `Code ${p.code} ${p.reason}.`)),
  ];
  if (!c.items.length) {
    show(h('h1', {}, 'Your cart'), ...notices, h('p', {}, 'Your cart is empty. ', h('a', { href: '#/' }, 'Keep shopping')));
    return;
  }
  const act = (fn) => async () => {
    try {
      await fn();
      await cartPage();
      await refreshCartCount();
    } catch (err) {
      main().prepend(errorBox(err));
    }
  };
  const lines = c.items.map((l) => {
    const q = h('input', {
      type: 'number',
      min: 1,
      max: 9999,
      value: l.quantity,
      'aria-label': `Quantity of ${l.title}`,
      inputmode: 'numeric',
    });
    q.addEventListener(
      'change',
      act(() => api.setQuantity(l.id, Number(q.value))),
    );
    return h(
      'tr',
      {},
      h(
        'td',
        {},
        h('a', { href: `#/product/${encodeURIComponent(l.item_id)}` }, l.title),
        l.available ? null : h('div', { class: 'muted' }, 'No longer available'),
      ),
      h('td', {}, q),
      h('td', { class: 'num' }, money(l.unit_price, c.currency_code)),
      h('td', { class: 'num' }, l.totals ? money(l.totals.subtotal, c.currency_code) : '—'),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'plain',
            'aria-label': `Remove ${l.title}`,
            onclick: act(async () => {
              await api.removeLine(l.id);
              track('Product Removed', { product_id: l.item_id, quantity: l.quantity });
            }),
          },
          'Remove',
        ),
      ),
    );
  });
  const code = h('input', { id: 'promo', maxlength: 100, autocomplete: 'off' });
  show(
    h('h1', {}, 'Your cart'),
    ...notices,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Cart items' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Item'),
            h('th', {}, 'Quantity'),
            h('th', { class: 'num' }, 'Price'),
            h('th', { class: 'num' }, 'Subtotal'),
            h('th', {}, ''),
          ),
        ),
        h('tbody', {}, lines),
      ),
    ),
    h(
      'form',
      {
        class: 'pills',
        onsubmit: (e) => {
          e.preventDefault();
          void act(() => api.applyCode(code.value))();
        },
      },
      h('label', { for: 'promo' }, 'Promotion code '),
      code,
      h('button', { type: 'submit', class: 'plain' }, 'Apply'),
      ...c.promotions
        .filter((p) => p.code)
        .map((p) => h('button', { type: 'button', class: 'plain', onclick: act(() => api.removeCode(p.code)) }, `Remove ${p.code}`)),
    ),
    totalsTable(c),
    h('p', {}, h('a', { href: '#/checkout' }, h('button', { type: 'button' }, 'Checkout'))),
  );
}

async function checkout() {
  show(h('h1', {}, 'Checkout'), loading());
  const c = await api.cart();
  if (!c.id || !c.items.some((l) => l.available)) {
    show(h('h1', {}, 'Checkout'), h('p', {}, 'Your cart is empty. ', h('a', { href: '#/' }, 'Keep shopping')));
    return;
  }
  const options = (await api.shippingOptions(c.currency_code)).data;
  const email = h('input', {
    id: 'email',
    type: 'email',
    required: true,
    maxlength: 320,
    autocomplete: 'email',
    value: userId()?.includes('@') ? userId() : '',
  });
  const name = h('input', { id: 'name', required: true, maxlength: 200, autocomplete: 'name' });
  const line1 = h('input', { id: 'line1', required: true, maxlength: 300, autocomplete: 'address-line1' });
  const city = h('input', { id: 'city', required: true, maxlength: 200, autocomplete: 'address-level2' });
  const postal = h('input', { id: 'postal', maxlength: 40, autocomplete: 'postal-code' });
  const country = h('input', { id: 'country', maxlength: 2, autocomplete: 'country', value: 'US' });
  const ship = h(
    'select',
    { id: 'shipping' },
    options.map((o) => h('option', { value: o.id }, `${o.name} — ${money(o.amount, o.currency_code)}`)),
  );
  // Stripe's test payment methods, as the local Stripe-protocol server (and Stripe's test mode) know them.
  const card = h(
    'select',
    { id: 'card' },
    h('option', { value: 'pm_card_visa' }, 'Visa test card 4242 4242 4242 4242'),
    h('option', { value: 'pm_card_chargeDeclined' }, 'Declined test card 4000 0000 0000 0002'),
  );
  const status = h('div', { role: 'status' });
  const summary = h('div', {}, totalsTable(c));
  // One key per attempt at this cart: a double click or a retry after a lost answer replays the first answer.
  let attemptKey = crypto.randomUUID();
  const pay = h('button', { type: 'submit' }, 'Place order');
  const form = h(
    'form',
    {
      class: 'form',
      onsubmit: async (e) => {
        e.preventDefault();
        pay.disabled = true;
        status.replaceChildren(h('p', { class: 'muted' }, 'Paying…'));
        try {
          const address = {
            name: name.value,
            line1: line1.value,
            city: city.value,
            postal_code: postal.value || undefined,
            country: country.value.toUpperCase() || undefined,
          };
          if (options.length) {
            const priced = await api.setShipping(c.id, { shipping_option_id: ship.value, email: email.value, shipping_address: address });
            summary.replaceChildren(totalsTable(priced));
          }
          const done = await api.complete(c.id, card.value, attemptKey);
          sessionStorage.setItem(LAST_ORDER_SLOT, JSON.stringify(done.order));
          location.hash = `#/order/${done.order.id}`;
          void refreshCartCount();
        } catch (err) {
          attemptKey = crypto.randomUUID();
          status.replaceChildren(errorBox(err));
          pay.disabled = false;
        }
      },
    },
    h('label', {}, 'E-mail', email),
    h('label', {}, 'Full name', name),
    h('label', {}, 'Address', line1),
    h('label', {}, 'City', city),
    h('label', {}, 'Postal code', postal),
    h('label', {}, 'Country (2 letters)', country),
    options.length ? h('label', {}, 'Shipping', ship) : null,
    h('label', {}, 'Card', card),
    pay,
    status,
  );
  show(h('h1', {}, 'Checkout'), summary, form);
}

function orderConfirmation(orderId) {
  let order = null;
  try {
    order = JSON.parse(sessionStorage.getItem(LAST_ORDER_SLOT) || 'null');
  } catch {
    order = null;
  }
  if (!order || order.id !== orderId) {
    show(h('h1', {}, 'Order'), h('p', {}, `Order ${orderId}. `, h('a', { href: '#/orders' }, 'See your orders')));
    return;
  }
  show(
    h('h1', {}, 'Thank you for your order'),
    h('p', { class: 'ok', role: 'status' }, `Order ${order.id} is ${order.status}: ${money(order.total, order.currency_code)} paid.`),
    h('p', {}, h('a', { href: '#/' }, 'Keep shopping'), ' · ', h('a', { href: '#/orders' }, 'Your orders')),
  );
}

async function ordersPage() {
  show(h('h1', {}, 'Your orders'), loading());
  const out = await api.orders();
  show(
    h('h1', {}, 'Your orders'),
    out.data.length
      ? h(
          'table',
          { 'aria-label': 'Orders' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Date'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Total'))),
          h(
            'tbody',
            {},
            out.data.map((o) =>
              h(
                'tr',
                {},
                h('td', {}, o.id.slice(0, 8)),
                h('td', {}, new Date(o.created_at).toLocaleDateString()),
                h('td', {}, o.status.replace('_', ' ')),
                h('td', { class: 'num' }, money(o.total, o.currency_code)),
              ),
            ),
          ),
        )
      : h('p', {}, 'No orders yet.'),
  );
}

function account() {
  const current = userId();
  show(
    h('h1', {}, current ? 'Your account' : 'Sign in'),
    current
      ? h(
          'div',
          {},
          h('p', {}, `Signed in as ${current}.`),
          h(
            'button',
            {
              type: 'button',
              class: 'plain',
              onclick: () => {
                localStorage.removeItem(CUSTOMER_TOKEN_SLOT);
                tracker?.reset();
                setAccountLink();
                void refreshCartCount();
                location.hash = '#/';
              },
            },
            'Sign out',
          ),
        )
      : h(
          'div',
          {},
          h(
            'p',
            {},
            "Sign in on the store's own site: it sends you back here with a sign-in link, and the cart you filled as a visitor comes with you.",
          ),
          h('p', { class: 'muted' }, 'Your cart and orders are kept for this browser until then.'),
        ),
  );
}

function setAccountLink() {
  document.getElementById('account-link').textContent = userId() ? 'Account' : 'Sign in';
}

// ---- autocomplete on the search box ----
function wireSearch() {
  const form = document.getElementById('search-form');
  const input = document.getElementById('search-input');
  const list = document.getElementById('suggestions');
  let seq = 0;
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  };
  input.addEventListener('input', async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 2) return close();
    try {
      const out = await api.autocomplete(q);
      if (mine !== seq) return;
      list.replaceChildren(
        ...out.suggestions.map((s, i) =>
          h(
            'li',
            {
              role: 'option',
              id: `sugg-${i}`,
              onmousedown: (e) => {
                e.preventDefault();
                close();
                location.hash = s.item_id ? `#/product/${encodeURIComponent(s.item_id)}` : `#/search/${encodeURIComponent(s.text)}`;
              },
            },
            s.text,
          ),
        ),
      );
      list.hidden = out.suggestions.length === 0;
      input.setAttribute('aria-expanded', String(!list.hidden));
    } catch {
      close();
    }
  });
  input.addEventListener('blur', close);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    close();
    if (input.value.trim()) location.hash = `#/search/${encodeURIComponent(input.value.trim())}`;
  });
}

// ---- router ----
async function route() {
  const [, page = '', arg = ''] = location.hash.split('/');
  const value = decodeURIComponent(arg);
  pageView(page || 'home');
  try {
    if (page === 'product' && value) await product(value);
    else if (page === 'category' && value) await category(value);
    else if (page === 'search' && value) await search(value);
    else if (page === 'cart') await cartPage();
    else if (page === 'checkout') await checkout();
    else if (page === 'order' && value) orderConfirmation(value);
    else if (page === 'orders') await ordersPage();
    else if (page === 'account') account();
    else await home();
  } catch (err) {
    show(errorBox(err), h('p', {}, h('a', { href: '#/' }, 'Back to the store')));
  }
  main().focus({ preventScroll: true });
}

document.getElementById('brand').textContent = slug;
document.title = slug;
if (!apiKey) {
  show(
    h('h1', {}, 'This store is not connected'),
    h('p', { class: 'error', role: 'alert' }, 'Open the link the merchant shared (it ends in #key=…), or ask them for one.'),
  );
} else {
  setAccountLink();
  wireSearch();
  window.addEventListener('hashchange', () => {
    // A sign-in link opened while the store is already open.
    const token = takeFragment();
    if (token)
      signInWith(token).then(
        () => {
          void route();
          void refreshCartCount();
        },
        () => undefined,
      );
    else void route();
  });
  // The tracker starts once the visitor's anonymous token is known (its id is the tracker's anonymous id).
  const start = ensureAnonymous()
    .catch(() => undefined)
    .then(startTracking)
    .then(() => (signInToken ? signInWith(signInToken) : undefined));
  start.then(
    () => {
      signInToken = null;
      void route();
      void refreshCartCount();
    },
    () => undefined,
  );
}
