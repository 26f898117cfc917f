import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics: one registry per app (tests build many apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'loupe_' });
  const httpDuration = new Histogram({
    name: 'loupe_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  // Requests are counted in plain integers per (method, route, status) and handed to prom-client when scraped:
  // its `inc` hashes the label set on every call, on every request of the hottest routes.
  const requestCounts = new Map<string, { labels: { method: string; route: string; status: string }; n: number }>();
  new Counter({
    name: 'loupe_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, n } of requestCounts.values()) this.inc(labels, n);
    },
  });
  const jobsFinished = new Counter({
    name: 'loupe_jobs_finished_total',
    help: 'Jobs finished by type and outcome',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'loupe_job_duration_seconds',
    help: 'Job attempt duration by type',
    labelNames: ['type'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  return {
    registry,
    jobFinished(type: string, status: string, seconds: number): void {
      jobsFinished.inc({ type, status });
      jobDuration.observe({ type }, seconds);
    },
    install(app: FastifyInstance): void {
      // One child per (method, route, status), looked up by a flat key: prom-client would otherwise hash the
      // label object on every request, twice. Bounded: route patterns and statuses are finite.
      const children = new Map<string, { count: { n: number }; duration: { observe(v: number): void } }>();
      app.addHook('onResponse', (request, reply, done) => {
        // The route pattern, never the raw URL: bounded label cardinality and no identifiers in metrics.
        const route = request.routeOptions.url ?? 'unmatched';
        const key = `${request.method} ${reply.statusCode} ${route}`;
        let c = children.get(key);
        if (!c) {
          const labels = { method: request.method, route, status: String(reply.statusCode) };
          const count = { labels, n: 0 };
          requestCounts.set(key, count);
          c = { count, duration: httpDuration.labels(labels) };
          children.set(key, c);
        }
        c.count.n++;
        c.duration.observe(reply.elapsedTime / 1000);
        done();
      });
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
