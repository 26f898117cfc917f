import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { FeedbackPoint } from './feedback.core.ts';

/** Seed 004's outreach_feedback. Every query filters on tenant_id. */
export function createFeedbackRepository() {
  return {
    insert: async (
      q: Q,
      tenantId: string,
      f: {
        source: string;
        rating: number;
        npsScore: number | null;
        comment: string | null;
        context: Record<string, string>;
        themes: string[];
      },
      now: Date,
    ) =>
      (await queryOne<{ id: string; createdAt: Date }>(
        q,
        sql`INSERT INTO outreach_feedback (tenant_id, id, source, rating, nps_score, comment, context, themes, created_at)
            VALUES (${tenantId}, ${newId()}, ${f.source}, ${f.rating}, ${f.npsScore}, ${f.comment}, ${JSON.stringify(f.context)}::jsonb,
                    ${arrayParam(f.themes)}::text[], ${now.toISOString()})
            RETURNING id, created_at AS "createdAt"`,
      ))!,
    /** Feedback since `since` (at most 100,000 rows, newest first), optionally of one source or pilot. */
    points: (q: Q, tenantId: string, f: { since: Date; source?: string | undefined; pilot?: string | undefined }) =>
      queryRows<FeedbackPoint>(
        q,
        sql`SELECT rating, nps_score AS "npsScore", themes, created_at AS "createdAt" FROM outreach_feedback
            WHERE tenant_id = ${tenantId} AND created_at >= ${f.since.toISOString()}
              ${f.source ? sql`AND source = ${f.source}` : sql``} ${f.pilot ? sql`AND context->>'pilot' = ${f.pilot}` : sql``}
            ORDER BY created_at DESC LIMIT 100000`,
      ),
  };
}
export type FeedbackRepository = ReturnType<typeof createFeedbackRepository>;
