import type { Db, TenantContext } from '../../platform/index.ts';
import { summarizeFeedback, themesOf } from './feedback.core.ts';
import type { FeedbackRepository } from './feedback.repository.ts';
import type { CatalogFeedPort } from './feeds.service.ts';
import type { FeedsRepository } from './feeds.repository.ts';
import type { MetricSample } from './metrics.core.ts';
import type { ProfileService } from './profile.service.ts';

const DAY = 86_400_000;

/** Feedback (seed 004's outreach_feedback), its analytics and pilot KPIs, and the tenant's operational metrics. */
export function createFeedbackService(deps: {
  db: Db;
  repo: FeedbackRepository;
  feedsRepo: FeedsRepository;
  catalog: CatalogFeedPort;
  profile: ProfileService;
  clock: () => Date;
}) {
  const { db, repo } = deps;
  const since = (days: number) => new Date(deps.clock().getTime() - days * DAY);

  async function feedSuccess(ctx: TenantContext, days: number) {
    const counts = await deps.feedsRepo.jobCounts(db, ctx.tenantId, since(days));
    const finished = (counts.success ?? 0) + (counts.failed ?? 0);
    return { counts, successRate: finished ? (counts.success ?? 0) / finished : null };
  }

  /** Share of active items whose catalog category is aligned to a Google category. */
  async function mappingCoverage(ctx: TenantContext): Promise<{ items: number; mapped: number }> {
    let items = 0;
    let mapped = 0;
    let after: string | null = null;
    for (;;) {
      const rows = await deps.catalog.feedRows(db, ctx.tenantId, after, 5000);
      for (const r of rows) {
        items++;
        if (r.googleCategoryId !== null) mapped++;
      }
      if (rows.length < 5000) return { items, mapped };
      after = rows[rows.length - 1]!.itemId;
    }
  }

  return {
    submit: (
      ctx: TenantContext,
      f: { source: string; rating: number; npsScore: number | null; comment: string | null; context: Record<string, string> },
    ) => repo.insert(db, ctx.tenantId, { ...f, themes: themesOf(f.comment) }, deps.clock()),

    summary: async (ctx: TenantContext, f: { days: number; source?: string | undefined }) =>
      summarizeFeedback(await repo.points(db, ctx.tenantId, { since: since(f.days), source: f.source })),

    async pilotKpis(ctx: TenantContext, f: { days: number; pilot?: string | undefined }) {
      const fb = summarizeFeedback(await repo.points(db, ctx.tenantId, { since: since(f.days), pilot: f.pilot }));
      const feeds = await feedSuccess(ctx, f.days);
      const profile = await deps.profile.validation(ctx).catch(() => null);
      const coverage = await mappingCoverage(ctx);
      return {
        responses: fb.responses,
        satisfaction: fb.satisfaction,
        nps: fb.nps,
        feedPushJobs: Object.values(feeds.counts).reduce((a, b) => a + b, 0),
        feedPushSuccessRate: feeds.successRate,
        categoryMappingCoverage: coverage.items ? coverage.mapped / coverage.items : null,
        businessProfileScore: profile?.score ?? null,
      };
    },

    /** The tenant's operational metrics over the last `days` days. */
    async metrics(ctx: TenantContext, days: number): Promise<MetricSample[]> {
      const feeds = await feedSuccess(ctx, days);
      const fb = summarizeFeedback(await repo.points(db, ctx.tenantId, { since: since(days) }));
      const coverage = await mappingCoverage(ctx);
      return [
        { name: 'feed_push_success_ratio', help: 'Finished feed push jobs that succeeded (0..1)', value: feeds.successRate },
        ...['queued', 'processing', 'success', 'failed', 'retried'].map((status) => ({
          name: 'feed_push_jobs',
          help: 'Feed push jobs created in the window, by current status',
          value: feeds.counts[status] ?? 0,
          labels: { status },
        })),
        { name: 'catalog_items_active', help: 'Active catalog items', value: coverage.items },
        {
          name: 'category_mapping_coverage_ratio',
          help: 'Active items whose category is aligned to a Google category (0..1)',
          value: coverage.items ? coverage.mapped / coverage.items : null,
        },
        { name: 'feedback_responses', help: 'Feedback responses in the window', value: fb.responses },
        { name: 'feedback_satisfaction_ratio', help: 'Feedback ratings of 4 or 5 (0..1)', value: fb.satisfaction },
        { name: 'feedback_nps', help: 'Net promoter score (-100..100)', value: fb.nps },
      ];
    },
  };
}
export type FeedbackService = ReturnType<typeof createFeedbackService>;
