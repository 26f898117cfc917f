import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, jobSchema, minorToMajor, type JobQueue, tenantContext, toJob, requirePermission } from '../../platform/index.ts';
import * as s from './predictions.schemas.ts';
import type { Prediction, PredictionsService } from './predictions.service.ts';
import type { Reason } from './scoring.core.ts';
import { TRAIN_JOB } from './predictions.jobs.ts';
import { driftStatus, PSI_MODERATE, PSI_SIGNIFICANT } from './drift.core.ts';

/** An instant as ISO text (rows may carry Date or text). */
const iso = (d: Date | string): string => new Date(d).toISOString();
const r4 = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(4)));
const reasonsJson = (rs: readonly Reason[]) => rs.map((x) => ({ ...x, value: r4(x.value), typical: r4(x.typical) }));

/** The parts of a prediction, as seed 002's responses carry them; a model not trained yet is listed in `not_ready`. */
function parts(p: Prediction) {
  const notReady: { model: string; reason: string }[] = [];
  const { score, models } = p;
  const noOrders = p.orders === 0 ? 'the customer has no purchase yet' : null;
  const churn =
    models.churn && score.churnProbability !== null
      ? {
          probability: r4(score.churnProbability)!,
          risk_level:
            score.churnProbability >= 0.7 ? ('high' as const) : score.churnProbability >= 0.4 ? ('medium' as const) : ('low' as const),
          model_version: models.churn.version,
          model_type: models.churn.params.type,
          window_days: models.churn.params.windowDays,
          top_reasons: reasonsJson(score.reasons),
        }
      : null;
  if (!churn)
    notReady.push({
      model: 'churn',
      reason:
        noOrders ?? 'no churn model yet: train with POST /api/v1/predictions/train (it needs at least 10 customers with repeat purchases)',
    });
  const ltv =
    models.ltv && score.expectedValueMinor !== null
      ? {
          predicted_ltv: p.currency ? minorToMajor(score.expectedValueMinor, p.currency) : score.expectedValueMinor,
          predicted_ltv_minor: String(score.expectedValueMinor),
          currency: p.currency,
          horizon_days: p.horizonDays,
          expected_purchases: r4(score.expectedPurchases),
          p_alive: r4(score.pAlive),
          model_version: models.ltv.version,
          model_type: models.ltv.params.type,
        }
      : null;
  if (!ltv) notReady.push({ model: 'ltv', reason: noOrders ?? 'no lifetime-value model yet: train with POST /api/v1/predictions/train' });
  const segment =
    models.segments && score.rfm
      ? {
          segment: score.rfm.segment,
          rfm: { r: score.rfm.r, f: score.rfm.f, m: score.rfm.m },
          cluster: score.cluster,
          model_version: models.segments.version,
        }
      : null;
  if (!segment) notReady.push({ model: 'segments', reason: noOrders ?? 'no segment model yet: train with POST /api/v1/predictions/train' });
  return { base: { profile_id: p.profileId, as_of: p.asOf.toISOString(), orders: p.orders }, churn, ltv, segment, notReady };
}

/** Seed 002's prediction service under /api/v1, the model registry beside recs' models, and the Predictions area's reads. */
export async function predictionsRoutes(app: FastifyInstance, deps: { service: PredictionsService; jobs: JobQueue }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.service;
  const serving = { auth: { kind: 'tenant', permission: 'profiles:read' }, rateGroup: 'serving' } as const;
  const read = { auth: { kind: 'tenant', permission: 'analytics:read' } } as const;

  r.post(
    '/api/v1/predict/churn',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Churn probability of one customer, with its top reasons',
        body: s.predictBody,
        response: { 200: s.churnResponse, ...errorResponses },
      },
      config: serving,
    },
    async (request) => {
      const p = parts(await svc.predict(tenantContext(request), svc.validateRef(request.body)));
      return { ...p.base, churn: p.churn, not_ready: p.notReady.filter((n) => n.model === 'churn') };
    },
  );
  r.post(
    '/api/v1/predict/ltv',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Expected lifetime value of one customer over the horizon',
        body: s.predictBody,
        response: { 200: s.ltvResponse, ...errorResponses },
      },
      config: serving,
    },
    async (request) => {
      const p = parts(await svc.predict(tenantContext(request), svc.validateRef(request.body)));
      return { ...p.base, ltv: p.ltv, not_ready: p.notReady.filter((n) => n.model === 'ltv') };
    },
  );
  r.post(
    '/api/v1/predict/all',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Churn, lifetime value and segment of one customer',
        body: s.predictBody,
        response: { 200: s.allResponse, ...errorResponses },
      },
      config: serving,
    },
    async (request) => {
      const p = parts(await svc.predict(tenantContext(request), svc.validateRef(request.body)));
      return { ...p.base, churn: p.churn, ltv: p.ltv, segment: p.segment, not_ready: p.notReady };
    },
  );

  r.get(
    '/api/v1/models/versions',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Every model version: predictions (churn, LTV, CLV, segments) beside recommendations',
        response: { 200: s.modelVersionsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const v = await svc.versions(tenantContext(request));
      return {
        data: [
          ...v.predictions.map((m) => ({
            id: m.id,
            family: 'predictions' as const,
            kind: m.kind,
            version: m.version,
            model_type: m.modelType,
            status: m.status,
            metrics: m.metrics,
            training_window: { from: m.windowFrom ? iso(m.windowFrom) : null, to: iso(m.windowTo), cutoff: iso(m.cutoff) },
            model_card: m.modelCard,
            created_at: iso(m.createdAt),
          })),
          ...v.recs.map((m) => ({
            id: m.id,
            family: 'recommendations' as const,
            kind: 'recommendations',
            version: m.version,
            model_type: m.modelType,
            status: m.status,
            metrics: m.metrics,
            training_window: null,
            model_card: null,
            created_at: iso(m.createdAt),
          })),
        ],
      };
    },
  );

  r.get(
    '/api/v1/models/metrics/summary',
    {
      schema: {
        tags: ['predictions'],
        summary: "Seed 002's metrics of the serving models: churn, LTV, segments, and the recommendation models",
        response: { 200: s.metricsSummaryResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const v = await svc.versions(tenantContext(request));
      const active = (kind: string) => v.predictions.find((m) => m.kind === kind && m.status === 'active');
      const m = (row: ReturnType<typeof active>, keys: string[]) =>
        row
          ? { model_version: row.version, model_type: row.modelType, ...Object.fromEntries(keys.map((k) => [k, row.metrics[k] ?? null])) }
          : null;
      const churn = m(active('churn'), ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'brier']);
      const ltv = m(active('ltv'), ['rmse', 'mae', 'r2', 'mape']);
      const segments = m(active('segments'), ['silhouette', 'inertia', 'clusters']);
      return {
        churn: churn as never,
        ltv: ltv as never,
        segments: segments as never,
        recommendations: v.recs
          .filter((x) => x.status === 'active' || x.status === 'canary')
          .map((x) => ({ version: x.version, model_type: x.modelType, status: x.status, metrics: x.metrics })),
      };
    },
  );

  r.post(
    '/api/v1/predictions/train',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Train every predictions model and rescore every profile (a job: follow it at /api/v1/jobs/:id)',
        response: { 202: jobSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'models:manage' }, audit: { action: 'predictions.train', resourceType: 'job' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      requirePermission(ctx, 'models:manage');
      const job = await deps.jobs.enqueue(ctx.tenantId, TRAIN_JOB, {}, { dedupeKey: TRAIN_JOB });
      request.auditTarget = { resourceId: job.id };
      return reply.code(202).send(toJob(job));
    },
  );

  r.get(
    '/api/v1/predictions/segments',
    {
      schema: {
        tags: ['predictions'],
        summary: 'RFM segments with their sizes, mean churn probability and expected value',
        response: { 200: s.segmentsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const { rows, previous } = await svc.segments(tenantContext(request));
      const total = rows.reduce((t, x) => t + x.profiles, 0);
      const before = new Map(previous.map((p) => [p.segment, p.profiles]));
      const now = new Set(rows.map((x) => x.segment));
      // segments that emptied since the previous run are listed too: 0 now, with their previous size
      const emptied = previous.filter((p) => !now.has(p.segment) && p.profiles > 0).sort((a, b) => b.profiles - a.profiles);
      return {
        scored_at: rows.length ? iso(rows.reduce((a, b) => (a.scoredAt > b.scoredAt ? a : b)).scoredAt) : null,
        previous_scored_at: previous[0] ? iso(previous[0].runAt) : null,
        data: rows
          .map((x) => ({
            segment: x.segment,
            profiles: x.profiles,
            previous_profiles: previous.length ? (before.get(x.segment) ?? 0) : null,
            share: r4(x.profiles / total)!,
            avg_churn_probability: r4(x.avgChurn),
            expected_value_minor: x.expectedValueMinor,
          }))
          .concat(
            emptied.map((p) => ({
              segment: p.segment,
              profiles: 0,
              previous_profiles: p.profiles,
              share: 0,
              avg_churn_probability: null,
              expected_value_minor: null,
            })),
          ),
      };
    },
  );

  r.get(
    '/api/v1/predictions/segments/history',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Segment sizes at every scoring run (training and nightly rescore) of the last `days` days, oldest first',
        querystring: s.segmentHistoryQuery,
        response: { 200: s.segmentHistoryResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const rows = await svc.segmentHistory(tenantContext(request), request.query);
      return {
        days: request.query.days,
        data: rows.map((x) => ({ run_at: iso(x.runAt), segment: x.segment, profiles: x.profiles })),
      };
    },
  );

  r.get(
    '/api/v1/predictions/at-risk',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Profiles whose churn probability is at or above the threshold, most at risk first',
        querystring: s.atRiskQuery,
        response: { 200: s.atRiskResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'profiles:read' } },
    },
    async (request) => {
      const out = await svc.atRisk(tenantContext(request), request.query);
      return {
        threshold: out.threshold,
        data: out.rows.map((x) => ({
          profile_id: x.profileId,
          churn_probability: r4(x.churnProbability),
          expected_value_minor: x.expectedValueMinor,
          currency: x.currency,
          segment: x.segment,
          last_order_at: x.lastOrderAt ? iso(x.lastOrderAt) : null,
          top_reasons: reasonsJson(x.reasons as Reason[]),
          scored_at: iso(x.scoredAt),
        })),
      };
    },
  );

  r.get(
    '/api/v1/predictions/drift',
    {
      schema: {
        tags: ['predictions'],
        summary: "Population stability (PSI) of each model's features and score between its training population and now",
        querystring: s.driftQuery,
        response: { 200: s.driftResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const d = await svc.drift(tenantContext(request), { fresh: request.query.fresh === 'true' });
      const models = (d.out?.models ?? []).map((m) => {
        const max = m.columns.length ? Math.max(...m.columns.map((c) => c.psi)) : null;
        return {
          kind: m.kind,
          model_version: m.version,
          reference_customers: m.referenceCustomers,
          max_psi: r4(max),
          status: max === null ? null : driftStatus(max),
          columns: m.columns.map((c) => ({ name: c.name, psi: r4(c.psi)!, status: c.status })).sort((a, b) => b.psi - a.psi),
        };
      });
      return {
        as_of: d.asOf.toISOString(),
        customers: d.out?.customers ?? 0,
        thresholds: { moderate: PSI_MODERATE, significant: PSI_SIGNIFICANT },
        retrain_recommended: models.some((m) => m.status === 'significant'),
        models,
      };
    },
  );

  r.get(
    '/api/v1/predictions/forecast',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Daily revenue or orders forecast (MSTL + ETS) with 80% and 95% intervals',
        querystring: s.forecastQuery,
        response: { 200: s.forecastResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const f = await svc.forecast(tenantContext(request), q);
      const r2 = (v: number) => Number(v.toFixed(2));
      const start = f.forecast ? Date.parse(`${f.forecast.startDate}T00:00:00Z`) : 0;
      return {
        metric: q.metric,
        currency: q.metric === 'revenue' ? f.currency : null,
        unit: q.metric === 'revenue' ? ('minor_units' as const) : ('orders' as const),
        model: f.forecast?.model ?? null,
        note: f.forecast?.note ?? (f.forecast ? null : 'no orders yet: nothing to forecast'),
        history: f.history,
        points: f.forecast
          ? Array.from(f.forecast.point, (v, h) => ({
              date: new Date(start + h * 86_400_000).toISOString().slice(0, 10),
              value: r2(v),
              lower_80: r2(f.forecast!.lower80[h]!),
              upper_80: r2(f.forecast!.upper80[h]!),
              lower_95: r2(f.forecast!.lower95[h]!),
              upper_95: r2(f.forecast!.upper95[h]!),
            }))
          : [],
      };
    },
  );

  r.get(
    '/api/v1/predictions/forecast/items',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Per-item daily units forecast (Croston or TSB for intermittent demand, else seasonal naive) with 80% and 95% intervals',
        querystring: s.itemForecastQuery,
        response: { 200: s.itemForecastResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const f = await svc.itemForecast(tenantContext(request), {
        itemIds: q.item_id,
        horizon: q.horizon,
        history: q.history,
        method: q.method,
        limit: q.limit,
      });
      const r2 = (v: number) => Number(v.toFixed(2));
      const day = (iso: string, k: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + k * 86_400_000).toISOString().slice(0, 10);
      return {
        horizon: q.horizon,
        history_start: f.historyStart,
        missing: f.missing,
        data: f.items.map((it) => ({
          item_id: it.itemId,
          method: it.method,
          demand: { kind: it.demand.kind, adi: Number.isFinite(it.demand.adi) ? r2(it.demand.adi) : null, cv2: r2(it.demand.cv2) },
          units_in_history: it.history.reduce((a, v) => a + v, 0),
          history: Array.from(it.history, (v, k) => ({ date: day(f.historyStart, k), units: v })),
          points: it.forecast.point.map((v, h) => ({
            date: day(f.startDate, h),
            units: r2(v),
            lower_80: r2(it.forecast.lower80[h]!),
            upper_80: r2(it.forecast.upper80[h]!),
            lower_95: r2(it.forecast.lower95[h]!),
            upper_95: r2(it.forecast.upper95[h]!),
          })),
        })),
      };
    },
  );
}
