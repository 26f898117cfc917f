import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const DASHBOARD_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard/dist');

/** Paths that belong to the server, never to the dashboard's client-side routes. */
const SERVER_PREFIXES = ['/api', '/v1', '/docs', '/health', '/audit', '/metrics', '/assets'];

/**
 * A browser navigating to a dashboard route (a deep link or a reload): GET, an `Accept` that asks for HTML,
 * and a path outside the server's own prefixes. Anything else that matches no route is an API 404.
 */
export function isDashboardNavigation(method: string, url: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (!accept || !/\btext\/html\b/i.test(accept)) return false;
  const p = url.split('?')[0]!;
  return !SERVER_PREFIXES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
}

/**
 * Serves the dashboard's production build at `/`. Unknown paths answer a JSON 404 in the error shape, except
 * browser navigations to dashboard routes, which get index.html so that deep links work. Without a build,
 * `/` says how to make one.
 */
export async function registerDashboard(app: FastifyInstance, dist = DASHBOARD_DIST): Promise<void> {
  const built = fs.existsSync(path.join(dist, 'index.html'));
  if (!built) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><title>Loupe</title><p>The dashboard is not built. Run <code>npm run build:dashboard</code>, or use the API: <a href="/docs">/docs</a>.</p>',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, { root: dist, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false });
  app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(path.join('assets', rel));
  });
  // Every other GET: the app for a browser navigation, else the JSON 404 of the error handler.
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    if (!isDashboardNavigation(request.method, request.url, request.headers.accept)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
