import { boolean, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Feature flags (GrowthBook-style features): a typed default value and ordered rules (targeted values,
 * percentage rollouts by hash, experiments run through the flag), evaluated by the SDKs locally from the
 * payload that GET /api/features/:clientKey serves.
 */
export const featureFlags = pgTable(
  'feature_flags',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** The key SDKs evaluate (`gb.isOn(key)`), unique per tenant. */
    key: text('key').notNull(),
    description: text('description').notNull().default(''),
    /** boolean | string | number | json */
    valueType: text('value_type').notNull(),
    defaultValue: jsonb('default_value').notNull(),
    /** Ordered rules: { id, type: force | rollout | experiment, condition, value, coverage, hash_attribute, environments ... }. */
    rules: jsonb('rules').notNull().default([]),
    /** Flags that must evaluate to a value matching a condition first ({ flag_key, condition }); else the flag is off. */
    prerequisites: jsonb('prerequisites').notNull().default([]),
    /** Environments the flag is served in (off elsewhere: absent from that environment's payload). */
    environments: text('environments').array().notNull(),
    archived: boolean('archived').notNull().default(false),
    /** Bumped on every change (optimistic concurrency for editors). */
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('feature_flags_key_key').on(t.tenantId, t.key)],
);

/** SDK connection keys: public identifiers of (tenant, environment) that GET /api/features/:clientKey takes. */
export const flagClientKeys = pgTable(
  'flag_client_keys',
  {
    key: text('key').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    environment: text('environment').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('flag_client_keys_tenant_idx').on(t.tenantId)],
);

/** Flag evaluations reported by SDKs, counted per flag, day and served value (the value's JSON, truncated). */
export const flagExposureCounts = pgTable(
  'flag_exposure_counts',
  {
    tenantId: uuid('tenant_id').notNull(),
    flagKey: text('flag_key').notNull(),
    day: date('day').notNull(),
    value: text('value').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.flagKey, t.day, t.value] })],
);
