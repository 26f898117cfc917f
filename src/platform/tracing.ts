/**
 * OpenTelemetry tracing (issue 17), off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per HTTP request (its
 * W3C `traceparent` continued when a caller sends one; the request id as `loupe.request_id`, the id logs and error
 * answers carry), per database statement run inside one (PostgreSQL: every statement of the pools' connections;
 * the embedded database: statements outside a transaction) and per job run, a child of the span that enqueued the
 * job (its `traceparent` is stored in the job's row). Exported in batches over OTLP/HTTP (JSON) with the official SDK.
 *
 * No global state: the app's tracer and the active span travel in an AsyncLocalStorage of this file's own, so two
 * apps in one process (tests) never see each other's spans, and with tracing off nothing is stored at all (the
 * database wrapper then costs one `getStore()` per statement).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';

interface Active {
  tracer: Tracer;
  ctx: Context;
}
const active = new AsyncLocalStorage<Active>();
const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (h: Record<string, unknown>) => Object.keys(h),
  get: (h: Record<string, unknown>, k: string) => {
    const v = h[k];
    return typeof v === 'string' || Array.isArray(v) ? (v as string | string[]) : undefined;
  },
};

export interface Tracing {
  /** Undefined when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** Sends the spans still buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts the exporter when `endpoint` (the OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`) is set. */
export function createTracing(opts: { endpoint: string | undefined; serviceName: string; scheduledDelayMs?: number }): Tracing {
  if (!opts.endpoint) return { tracer: undefined, flush: async () => undefined, shutdown: async () => undefined };
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: opts.scheduledDelayMs ?? 2000 })],
  });
  return {
    tracer: provider.getTracer('loupe'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * A span per request: opened when it arrives (continuing the caller's `traceparent`), the rest of the request run
 * inside it (so its statements are its children), ended with the status code when the answer is sent.
 */
export function registerRequestTracing(app: FastifyInstance, tracer: Tracer): void {
  const spans = new WeakMap<object, Span>();
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers as Record<string, unknown>, headerGetter);
    const span = tracer.startSpan(
      `${request.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0]!,
          'loupe.request_id': String(request.id),
        },
      },
      parent,
    );
    spans.set(request, span);
    active.run({ tracer, ctx: trace.setSpan(parent, span) }, () => done());
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      const route = request.routeOptions.url;
      if (route) span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (route) span.setAttribute('http.route', route);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}

/**
 * The W3C `traceparent` of the span running now (a request's, a job's), to store with work that runs later;
 * undefined when tracing is off or nothing is traced here.
 */
export function currentTraceparent(): string | undefined {
  const a = active.getStore();
  if (!a) return undefined;
  const carrier: Record<string, string> = {};
  propagator.inject(a.ctx, carrier, { set: (c, k, v) => void (c[k] = v) });
  return carrier.traceparent;
}

/**
 * Runs a job's handler inside a span of its own. With the `traceparent` the job was enqueued under, the span is a
 * child of the enqueuing span (same trace: a slow answer is followed from the request into the worker that ran its
 * job, in another process); without one (enqueued untraced, or a malformed value) it is a root.
 */
export async function traceJob<T>(
  tracer: Tracer | undefined,
  job: { type: string; id: string; tenantId: string; attempts?: number; traceparent?: string | null },
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracer) return fn();
  const parent = job.traceparent ? propagator.extract(ROOT_CONTEXT, { traceparent: job.traceparent }, headerGetter) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    `job ${job.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'loupe.job.type': job.type,
        'loupe.job.id': job.id,
        'loupe.tenant_id': job.tenantId,
        ...(job.attempts !== undefined ? { 'loupe.job.attempt': job.attempts } : {}),
      },
    },
    parent,
  );
  try {
    return await active.run({ tracer, ctx: trace.setSpan(parent, span) }, fn);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Wraps a statement in a span when it runs inside a traced request or job (`db.query.text` is the SQL text: values
 * are bound parameters, never in it). Outside one it just runs `fn`.
 */
export function traceStatement<T>(text: unknown, fn: () => T): T {
  const a = active.getStore();
  if (!a) return fn();
  const sqlText =
    typeof text === 'string' ? text : typeof (text as { text?: unknown })?.text === 'string' ? (text as { text: string }).text : '';
  const span = a.tracer.startSpan(
    sqlText.trim().split(/\s+/, 1)[0]?.toUpperCase() || 'SQL',
    { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.query.text': sqlText.slice(0, 2000) } },
    a.ctx,
  );
  let out: T;
  try {
    out = fn();
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    throw err;
  }
  if (out instanceof Promise) {
    return out.then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as { code?: string })?.code ?? 'error' });
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return out;
}
