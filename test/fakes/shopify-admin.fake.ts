import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking enough of Shopify's GraphQL Admin API for the backfill: POST
 * /admin/api/<version>/graphql.json with X-Shopify-Access-Token, the queries `LoupeShop`, `LoupeCount`
 * (`<resource>Count`), `LoupeProducts|Customers|Orders` (connections with `nodes` and `pageInfo { hasNextPage
 * endCursor }`, opaque base64 cursors), `extensions.cost.throttleStatus` on every answer, THROTTLED answers when
 * the bucket is short, a 5xx on demand, 401 for a wrong token, ACCESS_DENIED for a scope not granted.
 * Nodes are served as given (raw JSON text allowed, for hostile values JSON.stringify cannot produce).
 */
export interface ShopifyAdminFakeOptions {
  token: string;
  products?: unknown[];
  customers?: unknown[];
  orders?: unknown[];
  /** Access scopes granted (default all three). */
  scopes?: string[];
  currency?: string;
  /** Bucket size and restore rate (points per second). Page queries cost `pageCost` points. */
  bucket?: { max: number; restoreRate: number; pageCost: number };
}

export interface ShopifyAdminFake {
  url: string;
  /** Every request: operation, cursor, answer status. */
  log: { operation: string; after: string | null; status: number; throttled: boolean }[];
  /** The next N requests (any operation, or only the named one) answer 502. */
  failNext(n: number, operation?: string): void;
  /** The next N page requests answer THROTTLED with an empty bucket (as Shopify does when a query costs more than is left). */
  throttleNext(n: number): void;
  /** Replaces the access scopes granted. */
  setScopes(scopes: string[]): void;
  /** Holds answers to pages of `operation` until released (to stop a run mid-way). */
  hold(operation: string, afterPages: number): { reached: Promise<void>; release(): void };
  set(resource: 'products' | 'customers' | 'orders', nodes: unknown[]): void;
  close(): Promise<void>;
}

const cursorOf = (i: number) => Buffer.from(`loupe-fake:${i}`).toString('base64');
const indexOf = (c: unknown) => (typeof c === 'string' ? Number(Buffer.from(c, 'base64').toString().split(':')[1] ?? 0) : 0);

export async function startShopifyAdminFake(o: ShopifyAdminFakeOptions): Promise<ShopifyAdminFake> {
  const data: Record<string, unknown[]> = { products: o.products ?? [], customers: o.customers ?? [], orders: o.orders ?? [] };
  let throttles = 0;
  let scopes = new Set(o.scopes ?? ['read_products', 'read_customers', 'read_orders']);
  const b = o.bucket ?? { max: 1000, restoreRate: 50, pageCost: 10 };
  let available = b.max;
  let lastAt = Date.now();
  const log: ShopifyAdminFake['log'] = [];
  let failures: { n: number; operation?: string | undefined } = { n: 0 };
  const holds = new Map<string, { afterPages: number; seen: number; reached: () => void; gate: Promise<void> }>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(typeof body === 'string' ? body : JSON.stringify(body));
        };
        const m = /^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/.exec(req.url ?? '');
        let parsed: { query?: string; variables?: Record<string, unknown> } = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof parsed;
        } catch {
          return send(400, { errors: 'bad json' });
        }
        const operation = /query\s+(\w+)/.exec(parsed.query ?? '')?.[1] ?? 'unknown';
        const after = typeof parsed.variables?.after === 'string' ? parsed.variables.after : null;
        const entry = { operation, after, status: 200, throttled: false };
        log.push(entry);
        if (!m || req.method !== 'POST') return send((entry.status = 404), { errors: 'Not Found' });
        if (req.headers['x-shopify-access-token'] !== o.token)
          return send((entry.status = 401), { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
        if (failures.n > 0 && (!failures.operation || failures.operation === operation)) {
          failures = { ...failures, n: failures.n - 1 };
          entry.status = 502;
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end('<html>Bad Gateway</html>');
        }
        const now = Date.now();
        available = Math.min(b.max, available + ((now - lastAt) / 1000) * b.restoreRate);
        lastAt = now;
        const resource = /^Loupe(Products|Customers|Orders)$/.exec(operation)?.[1]?.toLowerCase();
        const cost = resource ? b.pageCost : 1;
        const throttle = () => ({ maximumAvailable: b.max, currentlyAvailable: Math.floor(available), restoreRate: b.restoreRate });
        if (resource && throttles > 0) {
          throttles--;
          available = 0;
        }
        if (available < cost) {
          entry.throttled = true;
          return send(200, {
            errors: [
              { message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } },
            ],
            extensions: { cost: { requestedQueryCost: cost, actualQueryCost: null, throttleStatus: throttle() } },
          });
        }
        available -= cost;
        const ext = { cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: throttle() } };
        if (operation === 'LoupeShop') return send(200, { data: { shop: { currencyCode: o.currency ?? 'USD' } }, extensions: ext });
        if (operation === 'LoupeCount') {
          const r = /\{\s*(\w+)Count/.exec(parsed.query ?? '')?.[1] ?? '';
          if (!scopes.has(`read_${r}`)) return send(200, denied(r, ext));
          return send(200, { data: { [`${r}Count`]: { count: data[r]?.length ?? 0, precision: 'EXACT' } }, extensions: ext });
        }
        if (!resource) return send(200, { errors: [{ message: `Unknown operation ${operation}` }] });
        if (!scopes.has(`read_${resource}`)) return send(200, denied(resource, ext));
        const h = holds.get(operation);
        if (h && ++h.seen > h.afterPages) {
          h.reached();
          await h.gate;
        }
        const first = Number(parsed.variables?.first ?? 50);
        const start = after ? indexOf(after) : 0;
        const nodes = data[resource]!.slice(start, start + first);
        const end = start + nodes.length;
        const hasNextPage = end < data[resource]!.length;
        // Nodes may be raw JSON text (hostile values): the answer is assembled as text.
        const nodesText = `[${nodes.map((n) => (typeof n === 'string' ? n : JSON.stringify(n))).join(',')}]`;
        const pageInfo = JSON.stringify({ hasNextPage, endCursor: nodes.length ? cursorOf(end) : null });
        return send(200, `{"data":{"${resource}":{"pageInfo":${pageInfo},"nodes":${nodesText}}},"extensions":${JSON.stringify(ext)}}`);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    throttleNext(n) {
      throttles = n;
    },
    setScopes(list) {
      scopes = new Set(list);
    },
    failNext(n, operation) {
      failures = { n, operation };
    },
    hold(operation, afterPages) {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reachedP = new Promise<void>((r) => (reached = r));
      holds.set(operation, { afterPages, seen: 0, reached, gate });
      return {
        reached: reachedP,
        release() {
          holds.delete(operation);
          release();
        },
      };
    },
    set(resource, nodes) {
      data[resource] = nodes;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function denied(resource: string, ext: unknown) {
  return {
    errors: [
      {
        message: `Access denied for ${resource} field. Required access: \`read_${resource}\` access scope.`,
        extensions: {
          code: 'ACCESS_DENIED',
          documentation: 'https://shopify.dev/api/usage/access-scopes',
          requiredAccess: `read_${resource}`,
        },
        path: [resource],
      },
    ],
    data: null,
    extensions: ext,
  };
}
