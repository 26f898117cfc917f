import { index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Saved cohorts: a named definition (`cohorts.core.ts`: rules over profile traits and aggregates, events, RFM segment
 * and prediction scores) that reports, experiments, predictions and sponsored targeting reuse. Members are not
 * stored: every read evaluates the definition over the owners' current rows (one statement).
 */
export const analyticsCohorts = pgTable(
  'analytics_cohorts',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    definition: jsonb('definition').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('analytics_cohorts_name_key').on(t.tenantId, t.name),
    index('analytics_cohorts_updated_idx').on(t.tenantId, t.updatedAt),
  ],
);
