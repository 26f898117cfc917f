import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Seed 004's feedback of merchants and shoppers: a rating, an optional NPS answer, a comment, its context. */
export const outreachFeedback = pgTable(
  'outreach_feedback',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** 'merchant' | 'shopper' */
    source: text('source').notNull(),
    /** 1..5 */
    rating: integer('rating').notNull(),
    /** 0..10, "how likely are you to recommend" */
    npsScore: integer('nps_score'),
    comment: text('comment'),
    /** Where it was given: { page, feature, pilot, ... } */
    context: jsonb('context').notNull().default(sql`'{}'::jsonb`),
    themes: text('themes').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('outreach_feedback_tenant_created_idx').on(t.tenantId, t.createdAt)],
);
