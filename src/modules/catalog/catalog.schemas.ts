import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { currencyCode } from '../../platform/schemas.ts';

const AVAILABILITY = ['in_stock', 'out_of_stock', 'preorder', 'discontinued'] as const;
const text = (max: number) => z.string().max(max);
const money = z.union([z.string().max(40), z.number()]);

/** The store's item id: text, exact at any length. A JSON number is accepted only while it is exact (≤ 2^53). */
const itemIdField = z.union([
  z.string().trim().min(1, 'must not be empty').max(255),
  z
    .number()
    .int()
    .refine((n) => Number.isSafeInteger(n) && n >= 0, 'beyond 2^53 must be sent as a string to stay exact')
    .transform((n) => String(n)),
]);

const itemFields = {
  name: z.string().trim().min(1, 'must not be empty').max(1000),
  description: text(100_000).nullable(),
  /** Category path ('Electronics > Audio') or name; created when missing. */
  category: text(1000).nullable(),
  /** Alternatively, an existing category by id. */
  category_id: z.uuid().nullable(),
  brand: text(300).nullable(),
  tags: z.array(text(200)).max(100).nullable(),
  price: money.nullable(),
  sale_price: money.nullable(),
  currency: currencyCode.nullable(),
  image_url: text(2000).nullable(),
  url: text(2000).nullable(),
  availability: z.enum(AVAILABILITY).nullable(),
  stock: z.number().int().min(-1_000_000_000).max(2_000_000_000).nullable(),
  gtin: text(50).nullable(),
  mpn: text(100).nullable(),
  attributes: z.record(z.string().max(200), z.unknown()).nullable(),
};

export const itemCreateBody = z
  .object({ item_id: itemIdField, ...itemFields, name: itemFields.name })
  .partial()
  .required({ item_id: true, name: true })
  .strict();
export const itemUpdateBody = z
  .object({ item_id: itemIdField, ...itemFields })
  .partial()
  .strict();
export type ItemUpdateBody = z.infer<typeof itemUpdateBody>;

export const itemResponse = z.object({
  id: z.string(),
  item_id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  category_id: z.string().nullable(),
  category: z.string().nullable(),
  brand: z.string().nullable(),
  tags: z.array(z.string()),
  price: z.string().nullable().describe('Exact decimal text in the currency, e.g. "99.99"'),
  sale_price: z.string().nullable(),
  price_minor: z.string().nullable().describe('Integer minor units (cents), as text'),
  currency: z.string().nullable(),
  image_url: z.string().nullable(),
  url: z.string().nullable(),
  availability: z.string(),
  stock: z.number().nullable(),
  gtin: z.string().nullable(),
  mpn: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

const decimal = (field: string) =>
  z
    .string()
    .max(40)
    .regex(/^\d+(\.\d+)?$/, `${field} must be a non-negative decimal such as 19.99`);

/** Filters shared by the list and the search. */
export const itemFilterQuery = {
  category: z.string().max(1000).optional().describe('Category id or path; includes its whole subtree'),
  brand: z.string().max(300).optional(),
  min_price: decimal('min_price').optional(),
  max_price: decimal('max_price').optional(),
  availability: z.enum(AVAILABILITY).optional(),
  tag: z.string().max(200).optional(),
  updated_since: z.iso.datetime({ offset: true }).optional(),
};
/** The largest batch of `item_id`s one list call resolves (a page of names: a timeline, an order, a report). */
export const ITEM_ID_BATCH_MAX = 100;
const storeItemId = z
  .string()
  .min(1)
  .max(255)
  .refine((v) => !v.includes('\u0000'), 'item_id must not contain NUL characters');
export const itemListQuery = z
  .object({
    ...paginationQuery,
    ...itemFilterQuery,
    item_id: z
      .union([storeItemId, z.array(storeItemId).max(ITEM_ID_BATCH_MAX)])
      .optional()
      .describe(`The store's item ids, repeated (item_id=a&item_id=b, at most ${ITEM_ID_BATCH_MAX}): one call names a page of items`),
  })
  .strict();
export const itemListResponse = z.object({ data: z.array(itemResponse), next_cursor: z.string().nullable() });
/** GET /items/search: full text with fuzzy fallback, filters and facets; offset cursors. */
export const searchQuery = z
  .object({
    q: z
      .string()
      .trim()
      .min(1, 'q must not be empty')
      .max(200)
      .refine((v) => !v.includes('\u0000'), 'q must not contain NUL characters'),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(100).optional(),
    ...itemFilterQuery,
  })
  .strict();
export const searchResponse = z.object({
  query: z.string(),
  mode: z.enum(['fulltext', 'fuzzy']).describe('fuzzy: full text found too little, typo-tolerant name matching answered'),
  total: z.number(),
  data: z.array(itemResponse.extend({ score: z.number() })),
  facets: z.object({
    categories: z.array(z.object({ id: z.string(), path: z.string(), count: z.number() })),
    brands: z.array(z.object({ value: z.string(), count: z.number() })),
    price_bands: z.array(z.object({ key: z.string(), from: z.number(), to: z.number().nullable(), count: z.number() })),
  }),
  next_cursor: z.string().nullable(),
});
export const autocompleteQuery = z.object({ q: z.string().max(100), limit: z.coerce.number().int().min(1).max(20).default(8) }).strict();
export const autocompleteResponse = z.object({
  query: z.string(),
  suggestions: z.array(z.object({ type: z.enum(['item', 'brand']), text: z.string(), item_id: z.string().nullable() })),
});

export const bulkBody = z.array(z.unknown()).min(1, 'send at least one item').max(1000, 'send at most 1000 items per call');
export const bulkResponse = z.object({
  inserted: z.number(),
  updated: z.number(),
  rejected: z.number(),
  results: z.array(
    z.object({
      index: z.number(),
      item_id: z.string().nullable(),
      status: z.enum(['created', 'updated', 'rejected']),
      id: z.string().nullable(),
      errors: z.array(z.object({ field: z.string().optional(), message: z.string() })).optional(),
    }),
  ),
});

// ---------------- categories ----------------
const categoryName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .refine((s) => !s.includes('>'), "must not contain '>' (it separates path segments)");
export const categoryCreateBody = z
  .object({ name: categoryName, parent_id: z.uuid().nullable().optional(), external_id: z.string().max(255).nullable().optional() })
  .strict();
export const categoryUpdateBody = z
  .object({
    name: categoryName.optional(),
    parent_id: z.uuid().nullable().optional(),
    external_id: z.string().max(255).nullable().optional(),
  })
  .strict();
export const categoryResponse = z.object({
  id: z.string(),
  name: z.string(),
  parent_id: z.string().nullable(),
  path: z.string(),
  depth: z.number(),
  external_id: z.string().nullable(),
  google_category_id: z.number().nullable(),
  item_count: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type CategoryJson = z.infer<typeof categoryResponse>;
export type CategoryTreeJson = CategoryJson & { children: CategoryTreeJson[] };
export const categoryTreeNode: z.ZodType<CategoryTreeJson> = z.lazy(() => categoryResponse.extend({ children: z.array(categoryTreeNode) }));
export const categoryListQuery = z
  .object({
    format: z.enum(['flat', 'tree']).default('flat'),
    parent_id: z.string().max(100).optional().describe("Only direct children of this category ('root' for top level); flat format only"),
    ...paginationQuery,
  })
  .strict();
export const categoryListResponse = z.object({ data: z.array(categoryResponse), next_cursor: z.string().nullable() });
export const categoryTreeResponse = z.object({ data: z.array(categoryTreeNode) });
export const categoryDeleteQuery = z.object({ strategy: z.enum(['refuse', 'reparent']).default('refuse') }).strict();
