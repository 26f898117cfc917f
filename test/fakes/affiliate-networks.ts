/**
 * A local server speaking the two affiliate network product APIs pricing imports from:
 *
 * - Rakuten Advertising: `POST /token` (Authorization `Bearer base64(client_id:client_secret)`, form `scope=<sid>`)
 *   answers `{ token_type, expires_in, refresh_token, access_token }`, or 400 `invalid_client`; `GET
 *   /productsearch/1.0?mid=&max=&pagenumber=` with `Bearer <access_token>` answers Rakuten's XML (`<result>` with
 *   TotalMatches, TotalPages, PageNumber and `<item>`s), 401 for an unknown or expired token.
 * - CJ: `POST /query` with `Bearer <personal access token>` and a GraphQL body naming `shoppingProducts`, variables
 *   `companyId`, `partnerIds`, `limit`, `offset`: answers `{ data: { shoppingProducts: { totalCount, count, limit,
 *   resultList } } }`; 401 for an unknown token.
 *
 * Faults a test queues (`failNext`): a 429 with a Retry-After, a 500, one at a time, on the next product call;
 * `failNext` after `passNext(n)`: the faults start after n more product calls succeed (a failure mid-run);
 * `breakAfter(n)`: after n more successful product calls every one answers 500 until `restore()`.
 * `revoke()` drops every credential (a revoked token: the next call is refused). Every call is logged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProduct {
  id: string;
  title: string;
  price: string;
  currency: string;
  brand?: string;
  gtin?: string;
  mpn?: string;
  salePrice?: string;
  availability?: 'IN_STOCK' | 'OUT_OF_STOCK';
}

type Fault = { status: 429 | 500 | 503; retryAfter?: string };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startAffiliateNetworks(opts: { rakuten: { clientId: string; clientSecret: string; sid: string }; cjToken: string }) {
  const products = new Map<string, FakeProduct[]>(); // by mid / advertiser id
  const faults: Fault[] = [];
  const calls: { path: string; status: number }[] = [];
  const tokens = new Set<string>();
  let revoked = false;
  let tokenSeq = 0;
  let passes = 0;
  let delayMs = 0; // every Rakuten product call waits this long before answering (a slow network)
  let broken: number | null = null; // successful product calls left before the server breaks

  const read = (req: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await read(req);
    const send = (status: number, type: string, text: string, headers: Record<string, string> = {}) => {
      calls.push({ path: url.pathname, status });
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(text);
    };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const fault = () => {
      if (broken !== null) {
        if (broken > 0) broken--;
        else {
          send(500, 'text/plain', 'Internal Server Error');
          return true;
        }
      }
      if (passes > 0 && faults.length) {
        passes--;
        return false;
      }
      const f = faults.shift();
      if (!f) return false;
      send(
        f.status,
        'text/plain',
        f.status === 429 ? 'Too Many Requests' : 'Internal Server Error',
        f.retryAfter ? { 'retry-after': f.retryAfter } : {},
      );
      return true;
    };

    if (req.method === 'POST' && url.pathname === '/token') {
      const key = Buffer.from(`${opts.rakuten.clientId}:${opts.rakuten.clientSecret}`).toString('base64');
      const form = new URLSearchParams(body);
      if (revoked || bearer !== key || form.get('scope') !== opts.rakuten.sid)
        return send(400, 'application/json', JSON.stringify({ error: 'invalid_client' }));
      const token = `rk-${++tokenSeq}`;
      tokens.add(token);
      return send(
        200,
        'application/json',
        JSON.stringify({ token_type: 'bearer', expires_in: 3600, refresh_token: `r-${token}`, access_token: token }),
      );
    }
    if (req.method === 'GET' && url.pathname === '/productsearch/1.0') {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (revoked || !bearer || !tokens.has(bearer))
        return send(401, 'application/json', JSON.stringify({ message: 'Invalid Credentials' }));
      if (fault()) return;
      const list = products.get(url.searchParams.get('mid') ?? '') ?? [];
      const max = Math.min(100, Number(url.searchParams.get('max') ?? 20));
      const n = Math.max(1, Number(url.searchParams.get('pagenumber') ?? 1));
      const pages = Math.max(1, Math.ceil(list.length / max));
      const items = list
        .slice((n - 1) * max, n * max)
        .map(
          (p) =>
            `<item><mid>${esc(url.searchParams.get('mid') ?? '')}</mid><merchantname>Fake merchant</merchantname><linkid>${esc(p.id)}</linkid>` +
            `<sku>${esc(p.mpn ?? p.id)}</sku><productname>${esc(p.title)}</productname><category><primary>Electronics</primary><secondary/></category>` +
            `<price currency="${p.currency}">${p.price}</price>${p.salePrice ? `<saleprice currency="${p.currency}">${p.salePrice}</saleprice>` : ''}` +
            `<upccode>${esc(p.gtin ?? '')}</upccode><description><short/><long/></description>` +
            `<linkurl>https://click.linksynergy.com/link?id=x&amp;offerid=${esc(p.id)}</linkurl><imageurl>https://img.example/${esc(p.id)}.jpg</imageurl></item>`,
        )
        .join('');
      return send(
        200,
        'application/xml',
        `<?xml version="1.0"?><result><TotalMatches>${list.length}</TotalMatches><TotalPages>${pages}</TotalPages><PageNumber>${n}</PageNumber>${items}</result>`,
      );
    }
    if (req.method === 'POST' && url.pathname === '/query') {
      if (revoked || bearer !== opts.cjToken)
        return send(401, 'application/json', JSON.stringify({ errors: [{ message: 'Not authorized' }] }));
      if (fault()) return;
      let q: { query?: string; variables?: { companyId?: string; partnerIds?: string[]; limit?: number; offset?: number } };
      try {
        q = JSON.parse(body) as typeof q;
      } catch {
        return send(400, 'application/json', JSON.stringify({ errors: [{ message: 'bad JSON' }] }));
      }
      if (!q.query?.includes('shoppingProducts') || !q.variables?.companyId)
        return send(200, 'application/json', JSON.stringify({ errors: [{ message: 'companyId is required' }] }));
      const list = (q.variables.partnerIds ?? []).flatMap((id) => products.get(id) ?? []);
      const limit = Math.min(1000, q.variables.limit ?? 100);
      const offset = q.variables.offset ?? 0;
      const page = list.slice(offset, offset + limit).map((p) => ({
        id: p.id,
        title: p.title,
        brand: p.brand ?? null,
        gtin: p.gtin ?? null,
        mpn: p.mpn ?? null,
        availability: p.availability ?? 'IN_STOCK',
        link: `https://www.anrdoezrs.net/links/x/${p.id}`,
        imageLink: null,
        advertiserId: '1',
        advertiserName: 'Fake advertiser',
        price: { amount: p.price, currency: p.currency },
        salePrice: p.salePrice ? { amount: p.salePrice, currency: p.currency } : null,
      }));
      return send(
        200,
        'application/json',
        JSON.stringify({ data: { shoppingProducts: { totalCount: list.length, count: page.length, limit, resultList: page } } }),
      );
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    calls,
    setProducts: (merchantId: string, list: FakeProduct[]) => products.set(merchantId, list),
    failNext: (...f: Fault[]) => faults.push(...f),
    /** The next `n` product calls succeed before the queued faults apply. */
    passNext: (n: number) => {
      passes = n;
    },
    /** After `n` more successful product calls, every product call answers 500 until `restore()`. */
    breakAfter: (n: number) => {
      broken = n;
    },
    revoke: () => {
      revoked = true;
    },
    /** Every Rakuten product call answers after `ms` (0: at once). */
    slowDown: (ms: number) => {
      delayMs = ms;
    },
    restore: () => {
      revoked = false;
      broken = null;
    },
    /** Every Rakuten access token expires (the next product call answers 401; a new token is fetched). */
    expireTokens: () => tokens.clear(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
