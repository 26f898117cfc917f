import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { DASHBOARD_CSP } from './dashboard.ts';

export const STOREFRONT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../storefront');

/** The reference storefront's files: a page, a script and a style sheet, no build step (under 100 kB gzip in all). */
const FILES: Record<string, string> = {
  'store.js': 'text/javascript; charset=utf-8',
  'store.css': 'text/css; charset=utf-8',
};

/**
 * Serves the reference storefront (issue 14) at `/store/<tenant-slug>`: one static page whose script calls the
 * public HTTP API (carts, checkout, search, recommendations, tracking) with the storefront key the merchant
 * hands over in the link's fragment (`#key=...`, never sent to the server). The server knows nothing of the
 * tenant here: the key decides which tenant's data the page sees. Same page rules as the dashboard.
 */
export async function registerStorefront(app: FastifyInstance, dir = STOREFRONT_DIR): Promise<void> {
  const page = await fs.readFile(path.join(dir, 'index.html'), 'utf8').catch(() => null);
  if (page === null) return;
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(FILES)) assets.set(name, await fs.readFile(path.join(dir, name)));
  const secure = { 'content-security-policy': DASHBOARD_CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };

  app.get('/store/:slug', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .headers({ ...secure, 'cache-control': 'no-cache' })
      .type('text/html; charset=utf-8')
      .send(page),
  );
  app.get('/store/:slug/*', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .headers({ ...secure, 'cache-control': 'no-cache' })
      .type('text/html; charset=utf-8')
      .send(page),
  );
  app.get('/store-assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { name: string }).name;
    const body = Object.hasOwn(FILES, name) ? assets.get(name) : undefined;
    if (!body) return reply.callNotFound();
    return reply.headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).type(FILES[name]!).send(body);
  });
}
