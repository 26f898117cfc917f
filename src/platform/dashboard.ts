import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const DASHBOARD_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard/dist');
/** The SDK's script-tag build (`npm run build:sdk`), served at /sdk/loupe.js for the install snippet. */
export const SDK_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sdk/dist/loupe.js');

/** Paths that belong to the server, never to the dashboard's client-side routes. */
const SERVER_PREFIXES = ['/api', '/v1', '/docs', '/health', '/audit', '/metrics', '/assets', '/sdk'];

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
  registerDashboardSecurityHeaders(app);
  // Stores load it from their own pages: any site may, and a short cache lets a new build reach them within minutes.
  app.get('/sdk/loupe.js', { schema: { hide: true } }, async (_req, reply) => {
    const js = await fs.promises.readFile(SDK_SCRIPT, 'utf8').catch(() => null);
    if (js === null) return reply.code(404).type('text/plain').send('The SDK is not built: run npm run build:sdk.');
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(js);
  });
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

/**
 * The dashboard's Content-Security-Policy: scripts only from this origin (the Vite build emits no inline
 * script), styles also inline (Mantine writes its CSS variables into style elements and attributes),
 * images from here and data: URIs (the favicon), API calls to this origin only; never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Security headers on the dashboard's HTML (a stolen token in localStorage is the prize of any injected
 * script, and a framed dashboard invites clickjacking): CSP, X-Frame-Options, no sniffing (every answer), no
 * referrer beyond the origin. The API docs at /docs keep their own page rules. Synchronous: it runs on every answer.
 */
function registerDashboardSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html') && !request.url.startsWith('/docs')) {
      reply.header('content-security-policy', DASHBOARD_CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'strict-origin-when-cross-origin');
    }
    done(null, payload);
  });
}
