import { type SQL, sql } from 'drizzle-orm';
import { CURRENCIES_BY_EXPONENT, arrayParam, queryOne, queryRows, type Q } from '../../platform/index.ts';
import { PRICE_BANDS } from './catalog.core.ts';
import { ITEM_COLUMNS, ITEM_FROM, type ItemFilters, type ItemRow, filterConditions } from './items.repository.ts';

/**
 * How a search matched: full text; full text over every spelling one edit away from each word (`typo`:
 * the text to_tsquery reads, from typoTsquery); or trigram word similarity of the name (`trigram`).
 */
export type SearchMatch = { mode: 'fulltext' } | { mode: 'typo'; tsquery: string } | { mode: 'trigram' };
export interface Facets {
  categories: { id: string; path: string; count: number }[];
  brands: { value: string; count: number }[];
  priceBands: { key: string; count: number }[];
}

/**
 * The item's price band key (PRICE_BANDS), from integer arithmetic on minor units: the whole major units
 * (`price_minor / 10^exponent`, bigint division) compared with the bands' whole-number bounds, which is exact
 * for bounds that are integers and a non-negative price. The numeric division of `majorPrice` cost more than
 * the rest of the facet statement on large match sets (bench/search).
 */
const priceBand = (() => {
  if (!PRICE_BANDS.every((b) => Number.isInteger(b.from) && (b.to === null || Number.isInteger(b.to)))) {
    throw new Error('PRICE_BANDS bounds must be whole major units');
  }
  const unit = sql`CASE ${sql.join(
    [...CURRENCIES_BY_EXPONENT].map(
      ([exp, codes]) => sql`WHEN i.currency = ANY(${arrayParam(codes)}::text[]) THEN ${sql.raw(String(10 ** exp))}::bigint`,
    ),
    sql` `,
  )} ELSE 100::bigint END`;
  const whole = sql`(i.price_minor / ${unit})`;
  const cases = sql.join(
    PRICE_BANDS.map((b) =>
      b.to === null
        ? sql`WHEN ${whole} >= ${sql.raw(String(b.from))} THEN ${b.key}`
        : sql`WHEN ${whole} >= ${sql.raw(String(b.from))} AND ${whole} < ${sql.raw(String(b.to))} THEN ${b.key}`,
    ),
    sql` `,
  );
  return sql`CASE WHEN i.price_minor IS NULL OR i.price_minor < 0 THEN NULL ${cases} END`;
})();

/** The smallest string greater than every string starting with `p` (for index range scans on a prefix). */
export function prefixUpper(p: string): string {
  const cps = [...p];
  const last = cps.pop()!;
  return cps.join('') + String.fromCodePoint(Math.min(last.codePointAt(0)! + 1, 0x10ffff));
}

/**
 * The match condition of a search. Every mode also matches an item whose id is the query exactly (a SKU
 * such as `85123A`, as typed or upper-cased: the unique (tenant_id, item_id) index answers it), ranked first.
 */
function matchOf(m: SearchMatch, q: string): { where: SQL; score: SQL } {
  const ids = [...new Set([q, q.toUpperCase()])];
  const exact = sql`i.item_id IN (${sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  )})`;
  let where: SQL;
  let score: SQL;
  if (m.mode === 'fulltext') {
    const tsq = sql`websearch_to_tsquery('english', ${q})`;
    where = sql`i.search_vector @@ ${tsq}`;
    // ts_rank (weights and frequency), not ts_rank_cd: cover density walks every position of the vector and cost
    // a third of a large match set's time (bench/search), and proximity means little in product names.
    score = sql`ts_rank(i.search_vector, ${tsq}, 1)`;
  } else if (m.mode === 'typo') {
    const tsq = sql`to_tsquery('english', ${m.tsquery})`;
    where = sql`i.search_vector @@ ${tsq}`;
    // Closer spellings of the name first; the trigram measure only orders the (few) matches here.
    score = sql`word_similarity(lower(unaccent(${q})), i.name_norm) + ts_rank(i.search_vector, ${tsq}, 1)`;
  } else {
    const nq = sql`lower(unaccent(${q}))`;
    where = sql`${nq} <% i.name_norm`;
    score = sql`word_similarity(${nq}, i.name_norm)`;
  }
  return { where: sql`(${where} OR ${exact})`, score: sql`CASE WHEN ${exact} THEN 1000 ELSE ${score} END` };
}

/** Search and autocomplete SQL. Every statement filters on tenant_id. */
export function createSearchRepository() {
  return {
    /**
     * Total, facets (direct category, brand, price band) and the requested page's ids of the whole match set, in
     * one statement: the match set is read once (one bitmap scan of the GIN index), scored once, and grouped three
     * ways from memory. Each match row carries only what the facets and the ordering need; the page's full rows
     * are read by id afterwards (`rowsByIds`).
     */
    async matchSet(
      qr: Q,
      tenantId: string,
      mode: SearchMatch,
      q: string,
      f: ItemFilters,
      page: { offset: number; limit: number },
    ): Promise<{ total: number; facets: Facets; page: { id: string; score: number }[] }> {
      const m = matchOf(mode, q);
      const where = sql.join([...filterConditions(tenantId, f), m.where], sql` AND `);
      const row = await queryOne<{
        total: number;
        categories: Facets['categories'];
        brands: Facets['brands'];
        priceBands: Facets['priceBands'];
        page: { id: string; score: number }[];
      }>(
        qr,
        sql`WITH m AS MATERIALIZED (SELECT i.id, i.category_id, i.brand, ${priceBand} AS band, (${m.score})::float8 AS score FROM items i WHERE ${where})
            SELECT (SELECT count(*)::int FROM m) AS total,
              (SELECT coalesce(json_agg(json_build_object('id', x.id, 'path', x.path, 'count', x.n) ORDER BY x.n DESC, x.path), '[]'::json)
                 FROM (SELECT c.id, c.path, g.n FROM (SELECT category_id, count(*)::int AS n FROM m WHERE category_id IS NOT NULL GROUP BY 1) g
                       JOIN categories c ON c.tenant_id = ${tenantId} AND c.id = g.category_id ORDER BY g.n DESC, c.path LIMIT 20) x) AS categories,
              (SELECT coalesce(json_agg(json_build_object('value', x.brand, 'count', x.n) ORDER BY x.n DESC, x.brand), '[]'::json)
                 FROM (SELECT brand, count(*)::int AS n FROM m WHERE brand IS NOT NULL GROUP BY brand ORDER BY n DESC, brand LIMIT 20) x) AS brands,
              (SELECT coalesce(json_agg(json_build_object('key', x.band, 'count', x.n)), '[]'::json)
                 FROM (SELECT band, count(*)::int AS n FROM m WHERE band IS NOT NULL GROUP BY band) x) AS "priceBands",
              (SELECT coalesce(json_agg(json_build_object('id', x.id, 'score', x.score) ORDER BY x.score DESC, x.id), '[]'::json)
                 FROM (SELECT id, score FROM m ORDER BY score DESC, id LIMIT ${page.limit} OFFSET ${page.offset}) x) AS page`,
      );
      return {
        total: row?.total ?? 0,
        facets: { categories: row?.categories ?? [], brands: row?.brands ?? [], priceBands: row?.priceBands ?? [] },
        page: row?.page ?? [],
      };
    },

    /** Full rows of the given Loupe ids, in the order given (ids of another tenant are not returned). */
    async rowsByIds(qr: Q, tenantId: string, ids: readonly string[]): Promise<ItemRow[]> {
      if (ids.length === 0) return [];
      const rows = await queryRows<ItemRow>(
        qr,
        sql`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM(tenantId)} WHERE i.tenant_id = ${tenantId} AND i.id = ANY(${arrayParam([...ids])}::uuid[])`,
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    },

    /**
     * Prefix autocomplete: names starting with the prefix (btree range scan on lower(unaccent(name))), then,
     * when fewer than `limit`, names with a later word starting with it (trigram GIN index), plus matching brands.
     * `prefix` must already be normalized (lower case, no accents).
     */
    async autocomplete(qr: Q, tenantId: string, prefix: string, limit: number) {
      const hi = prefixUpper(prefix);
      const names = await queryRows<{ itemId: string; name: string }>(
        qr,
        sql`SELECT item_id AS "itemId", name FROM items WHERE tenant_id = ${tenantId} AND name_norm ~>=~ ${prefix} AND name_norm ~<~ ${hi}
            ORDER BY name_norm USING ~<~ LIMIT ${limit}`,
      );
      if (names.length < limit && prefix.length >= 3 && /^[\p{L}\p{N}]+$/u.test(prefix)) {
        const more = await queryRows<{ itemId: string; name: string }>(
          qr,
          // One LIKE parameter so the planner sees the value: a rare prefix uses the trigram GIN index, a common
          // one stops a sequential scan after `limit` rows. (A tsquery prefix here planned a full scan for rare prefixes.)
          sql`SELECT item_id AS "itemId", name FROM items WHERE tenant_id = ${tenantId} AND name_norm LIKE ${'% ' + prefix + '%'}
                AND NOT (name_norm ~>=~ ${prefix} AND name_norm ~<~ ${hi}) LIMIT ${limit - names.length}`,
        );
        names.push(...more);
      }
      // Distinct brands by a loose index scan (one index probe per distinct brand), not by reading every item
      // of a brand: a popular brand may have thousands.
      const brands = await queryRows<{ brand: string }>(
        qr,
        sql`WITH RECURSIVE b(v) AS (
              (SELECT brand_norm FROM items WHERE tenant_id = ${tenantId} AND brand_norm ~>=~ ${prefix} AND brand_norm ~<~ ${hi}
               ORDER BY brand_norm USING ~<~ LIMIT 1)
              UNION ALL
              SELECT (SELECT i.brand_norm FROM items i WHERE i.tenant_id = ${tenantId} AND i.brand_norm ~>~ b.v AND i.brand_norm ~<~ ${hi}
                      ORDER BY i.brand_norm USING ~<~ LIMIT 1)
              FROM b WHERE b.v IS NOT NULL
            )
            SELECT (SELECT i.brand FROM items i WHERE i.tenant_id = ${tenantId} AND i.brand_norm = b.v LIMIT 1) AS brand
            FROM (SELECT v FROM b WHERE v IS NOT NULL LIMIT 3) b`,
      );
      return { names, brands: brands.map((b) => b.brand) };
    },
  };
}
export type SearchRepository = ReturnType<typeof createSearchRepository>;
