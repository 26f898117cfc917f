import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDashboardNavigation, registerDashboard } from './dashboard.ts';
import { registerErrorHandler } from './error-handler.ts';

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let app: FastifyInstance;
let dist: string;
beforeAll(async () => {
  dist = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-dist-'));
  await fs.writeFile(path.join(dist, 'index.html'), '<!doctype html><title>Loupe</title><div id="root"></div>');
  app = Fastify({ logger: false });
  registerErrorHandler(app);
  app.get('/api/v1/ping', async () => ({ ok: true }));
  await registerDashboard(app, dist);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await fs.rm(dist, { recursive: true, force: true });
});

const get = (url: string, accept?: string, method: 'GET' | 'POST' = 'GET') =>
  app.inject({ method, url, headers: accept ? { accept } : {} });

describe('unknown paths', () => {
  it('a browser navigation to a dashboard route gets the single-page app', async () => {
    for (const url of ['/customers/42', '/settings/rate-limits?tab=1', '/catalog']) {
      const r = await get(url, HTML);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toMatch(/text\/html/);
      expect(r.body).toContain('<div id="root">');
    }
  });

  it('anything else unknown is a JSON 404 in the error shape', async () => {
    const cases: [string, string | undefined, 'GET' | 'POST'][] = [
      ['/customers/42', 'application/json', 'GET'], // a client calling a JSON route that does not exist
      ['/customers/42', undefined, 'GET'],
      ['/customers/42', '*/*', 'GET'],
      ['/customers/42', HTML, 'POST'],
      ['/api/v1/nope', HTML, 'GET'],
      ['/v1/nope', HTML, 'GET'],
      ['/health/nope', HTML, 'GET'],
      ['/audit/x/y/z', HTML, 'GET'],
      ['/assets/missing.js', '*/*', 'GET'],
    ];
    for (const [url, accept, method] of cases) {
      const r = await get(url, accept, method);
      expect(r.statusCode, `${method} ${url} (${accept})`).toBe(404);
      expect(r.headers['content-type']).toMatch(/application\/json/);
      const body = r.json();
      expect(body.error.code).toBe('ROUTE_NOT_FOUND');
      expect(body.error.message).toContain(url.split('?')[0]);
    }
  });

  it('tells a navigation from an API call', () => {
    expect(isDashboardNavigation('GET', '/home', 'text/html')).toBe(true);
    expect(isDashboardNavigation('HEAD', '/home', 'text/html')).toBe(true);
    expect(isDashboardNavigation('GET', '/api', 'text/html')).toBe(false);
    expect(isDashboardNavigation('GET', '/apiary', 'text/html')).toBe(true);
    expect(isDashboardNavigation('GET', '/home', 'application/json')).toBe(false);
  });
});
