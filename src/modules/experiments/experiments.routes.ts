import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { errorBody, errorResponses, randomToken, tenantContext, validation } from '../../platform/index.ts';
import { analyze } from './analyze.core.ts';
import { analyzeBody, analyzeResponse, metricJson, toAnalyzeInput, toAnalyzeResponse } from './analyze.schemas.ts';
import type { AssignService } from './assign.service.ts';
import type { ExperimentsService } from './experiments.service.ts';
import * as s from './experiments.schemas.ts';
import { experimentJson, toCreateInput, toVariantInputs } from './experiments.mappers.ts';
import type { Report, ReportService } from './report.service.ts';
import type { TrackInput, TrackingService } from './tracking.service.ts';

export interface ExperimentsRouteDeps {
  experiments: ExperimentsService;
  assign: AssignService;
  tracking: TrackingService;
  reports: ReportService;
}

const TAGS = ['experiments'];

const idempotencyKey = (r: FastifyRequest): string | undefined => {
  const h = r.headers['idempotency-key'];
  if (h === undefined) return undefined;
  if (typeof h !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(h))
    throw validation('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 200 printable ASCII characters.');
  return h;
};

/** Weights, probabilities and units of each period by variant key (the dashboard charts the weights over time). */
function banditJson(r: Report): NonNullable<s.ReportJson['bandit']> {
  const keys = r.experiment.variants.map((v) => v.key);
  const byKey = (xs: readonly number[]) => Object.fromEntries(keys.map((k, i) => [k, xs[i] ?? 0]));
  const b = r.bandit as NonNullable<Report['bandit']>;
  return {
    periods: b.periods.map((p) => ({
      period: p.period,
      started_at: p.startedAt.toISOString(),
      weights: byKey(p.weights),
      best_arm_probabilities: p.bestArmProbabilities ? byKey(p.bestArmProbabilities) : null,
      units: byKey(p.units),
      message: p.message,
    })),
    srm_p_value: b.srmPValue,
    next_update_at: b.nextUpdateAt?.toISOString() ?? null,
    period_weighted: b.effects
      ? {
          metric: b.effects.metric,
          periods_used: b.effects.periodsUsed,
          periods_total: b.effects.periodsTotal,
          variants: b.effects.arms.map((a, i) => {
            const e = i === 0 ? undefined : b.effects?.effects[i - 1];
            return {
              variant_key: keys[i] ?? String(i),
              n: a.n,
              mean: finite(a.mean),
              standard_error: finite(a.standardError),
              pooled_mean: finite(a.pooledMean),
              absolute_effect: e ? finite(e.absoluteEffect) : null,
              relative_effect: e?.relativeEffect ?? null,
              ci_low: e?.ciLow ?? null,
              ci_high: e?.ciHigh ?? null,
              p_value: e?.pValue ?? null,
              chance_to_win: e?.chanceToWin ?? null,
              pooled_relative_effect: e?.pooledRelativeEffect ?? null,
            };
          }),
        }
      : null,
  };
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function reportJson(r: Report): s.ReportJson {
  return {
    experiment: experimentJson(r.experiment),
    units: r.units.map((u) => ({ variant_key: u.variantKey, n: u.n, exposures: u.exposures, expected_weight: u.expectedWeight })),
    srm_p_value: r.srmPValue,
    metrics: r.metrics.map((m) => ({ ...metricJson(m), guardrail: m.guardrail, primary: m.primary })),
    warnings: r.warnings,
    bandit: r.bandit ? banditJson(r) : null,
    decision: { action: r.decision.action, variant_key: r.decision.variantKey, reason: r.decision.reason },
    freshness: {
      source: r.freshness.source,
      as_of: r.freshness.asOf?.toISOString() ?? null,
      pending: r.freshness.pending,
      refreshing: r.freshness.refreshing,
    },
  };
}

type TrackCommon = z.infer<typeof s.trackClickBody>;
function trackInput(b: TrackCommon, event: string, r: FastifyRequest): TrackInput {
  return {
    userId: b.user_id,
    anonymousId: b.anonymous_id,
    event,
    value: undefined,
    amount: undefined,
    currency: undefined,
    dedupeKey: b.event_id ?? idempotencyKey(r),
    experimentId: b.experiment_id,
    itemId: b.item_id,
    recommendationId: b.recommendation_id,
    occurredAt: b.timestamp ? new Date(b.timestamp) : undefined,
  };
}

export async function experimentsRoutes(app: FastifyInstance, deps: ExperimentsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const write = {
    auth: { kind: 'tenant' as const, permission: 'interactions:write' as const, publishable: true },
    rateGroup: 'ingest' as const,
  };
  const manage = (action: string) => ({
    auth: { kind: 'tenant' as const, permission: 'experiments:manage' as const },
    audit: { action, resourceType: 'experiment' },
  });
  const read = { auth: { kind: 'tenant' as const, permission: 'analytics:read' as const } };

  r.post(
    '/api/v1/experiments/assign',
    {
      schema: {
        tags: TAGS,
        summary: 'Assign a user or anonymous visitor to experiments (seed 000); unknown or stopped experiments answer control',
        body: s.assignBody,
        // 503 + Retry-After: exposures are arriving faster than they can be stored (bounded buffer).
        response: { 200: s.assignResponse, ...errorResponses, 503: errorBody },
      },
      config: write,
    },
    async (request) => {
      const b = request.body;
      const out = await deps.assign.assign(tenantContext(request), {
        userId: b.user_id,
        anonymousId: b.anonymous_id,
        experimentKeys: b.experiments ?? b.experiment_keys,
        attributes: (b.attributes as Record<string, unknown> | undefined) ?? {},
        userAgent: b.user_agent ?? request.headers['user-agent'],
      });
      return {
        unit_id: out.unitId,
        assignments: out.assignments.map((a) => ({
          experiment_key: a.experimentKey,
          experiment_id: a.experimentId,
          variant_key: a.variantKey,
          variant_id: a.variantId,
          config: a.config,
          in_experiment: a.inExperiment,
          reason: a.reason,
        })),
      };
    },
  );

  const tracked = (o: { eventId: string; counted: boolean; unitId: string }) => ({
    status: 'tracked' as const,
    event_id: o.eventId,
    counted: o.counted,
    unit_id: o.unitId,
  });

  r.post(
    '/api/v1/experiments/track-click',
    {
      schema: {
        tags: TAGS,
        summary: 'Track a click for experiment analysis (seed 000); idempotent on event_id',
        body: s.trackClickBody,
        response: { 201: s.trackResponse, ...errorResponses },
      },
      config: write,
    },
    async (request, reply) =>
      reply.code(201).send(tracked(await deps.tracking.track(tenantContext(request), trackInput(request.body, 'click', request)))),
  );
  r.post(
    '/api/v1/experiments/track-add-to-cart',
    {
      schema: {
        tags: TAGS,
        summary: 'Track an add-to-cart for experiment analysis (seed 000)',
        body: s.trackAddToCartBody,
        response: { 201: s.trackResponse, ...errorResponses },
      },
      config: write,
    },
    async (request, reply) =>
      reply.code(201).send(tracked(await deps.tracking.track(tenantContext(request), trackInput(request.body, 'add_to_cart', request)))),
  );
  r.post(
    '/api/v1/experiments/track-purchase',
    {
      schema: {
        tags: TAGS,
        summary: 'Track a purchase (seed 000); the same order_id counts once',
        body: s.trackPurchaseBody,
        response: { 201: s.trackResponse, ...errorResponses },
      },
      config: write,
    },
    async (request, reply) => {
      const b = request.body;
      const input: TrackInput = {
        ...trackInput(b, 'purchase', request),
        dedupeKey: b.order_id,
        amount: b.amount ?? b.revenue,
        currency: b.currency,
      };
      return reply.code(201).send(tracked(await deps.tracking.track(tenantContext(request), input)));
    },
  );
  r.post(
    '/api/v1/experiments/track',
    {
      schema: {
        tags: TAGS,
        summary: 'Track any metric event for experiments; idempotent on event_id',
        body: s.trackBody,
        response: { 201: s.trackResponse, ...errorResponses },
      },
      config: write,
    },
    async (request, reply) => {
      const b = request.body;
      const input: TrackInput = { ...trackInput(b, b.event, request), value: b.value };
      return reply.code(201).send(tracked(await deps.tracking.track(tenantContext(request), input)));
    },
  );

  r.post(
    '/api/v1/experiments/analyze',
    {
      schema: {
        tags: TAGS,
        summary:
          'Analyse summary statistics (frequentist or Bayesian, CUPED, sequential, corrections, SRM); same as `loupe experiments analyze`',
        body: analyzeBody,
        response: { 200: analyzeResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => toAnalyzeResponse(analyze(toAnalyzeInput(request.body))),
  );

  r.post(
    '/api/v1/admin/experiments',
    {
      schema: {
        tags: TAGS,
        summary: 'Create an experiment (draft), optionally with its variants',
        body: s.createBody,
        response: { 201: s.experimentSchema, ...errorResponses },
      },
      config: manage('experiment.create'),
    },
    async (request, reply) => {
      const e = await deps.experiments.create(
        tenantContext(request),
        toCreateInput(request.body, () => `exp_${randomToken(6)}`),
      );
      request.auditTarget = { resourceId: e.id, details: { key: e.key } };
      return reply.code(201).send(experimentJson(e));
    },
  );

  r.get(
    '/api/v1/admin/experiments',
    {
      schema: {
        tags: TAGS,
        summary: 'List experiments with their status and variants',
        querystring: s.listQuery,
        response: { 200: s.listResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const list = await deps.experiments.list(tenantContext(request), {
        includeArchived: request.query.include_archived === 'true',
        limit: request.query.limit,
      });
      return { data: list.map(experimentJson) };
    },
  );

  r.get(
    '/api/v1/admin/experiments/:id',
    {
      schema: { tags: TAGS, summary: 'One experiment', params: s.idParams, response: { 200: s.experimentSchema, ...errorResponses } },
      config: read,
    },
    async (request) => experimentJson(await deps.experiments.get(tenantContext(request), request.params.id)),
  );

  r.post(
    '/api/v1/admin/experiments/:id/variants',
    {
      schema: {
        tags: TAGS,
        summary: 'Add variants to a draft experiment (one variant, or {"variants": [...]}); weights must sum to 1 or be left out',
        params: s.idParams,
        body: s.variantsBody,
        response: { 200: s.experimentSchema, ...errorResponses },
      },
      config: manage('experiment.variants'),
    },
    async (request) => {
      const b = request.body;
      const list = 'variants' in b ? b.variants : [b];
      const e = await deps.experiments.addVariants(tenantContext(request), request.params.id, toVariantInputs(list));
      request.auditTarget = { resourceId: e.id, details: { variants: e.variants.length } };
      return experimentJson(e);
    },
  );

  for (const [action, run] of [
    ['start', deps.experiments.start],
    ['stop', deps.experiments.stop],
    ['archive', deps.experiments.archive],
  ] as const) {
    r.post(
      `/api/v1/admin/experiments/:id/${action}`,
      {
        schema: {
          tags: TAGS,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} an experiment`,
          params: s.idParams,
          response: { 200: s.experimentSchema, ...errorResponses },
        },
        config: manage(`experiment.${action}`),
      },
      async (request) => {
        const e = await run(tenantContext(request), request.params.id);
        request.auditTarget = { resourceId: e.id, details: { status: e.status } };
        return experimentJson(e);
      },
    );
  }

  r.get(
    '/api/v1/admin/experiments/:id/report',
    {
      schema: {
        tags: TAGS,
        summary:
          'Results per metric and variant: effects, intervals, p-values or chance to win, SRM, warnings, decision (seed 000); from rollups refreshed in the background, with their freshness',
        params: s.idParams,
        querystring: s.reportQuery,
        response: { 200: s.reportResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) =>
      reportJson(
        await deps.reports.report(tenantContext(request), request.params.id, {
          source: request.query.source,
          refresh: request.query.refresh === 'true',
        }),
      ),
  );

  r.get(
    '/api/v1/admin/experiments/:id/lift',
    {
      schema: {
        tags: TAGS,
        summary: "The primary metric's lift per variant with its interval (seed 000)",
        params: s.idParams,
        response: { 200: s.liftResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const rep = await deps.reports.report(tenantContext(request), request.params.id);
      const m = rep.metrics.find((x) => x.primary);
      const alpha = 1 - rep.experiment.confidence;
      return {
        experiment_id: rep.experiment.id,
        metric: rep.experiment.primaryMetric,
        control: m?.control.name ?? null,
        variants: (m?.variants ?? []).map((v) => ({
          variant_key: v.name,
          lift: v.relativeEffect,
          ci_low: v.ciLow,
          ci_high: v.ciHigh,
          p_value: v.adjustedPValue ?? v.pValue,
          chance_to_win: v.chanceToWin,
          significant: v.chanceToWin !== null ? v.chanceToWin >= 0.95 || v.chanceToWin <= 0.05 : (v.adjustedPValue ?? 1) < alpha,
        })),
        winner: rep.decision.action === 'ship' ? rep.decision.variantKey : null,
        decision: rep.decision.reason,
      };
    },
  );
}
