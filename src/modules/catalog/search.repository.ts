import { type SQL, sql } from 'drizzle-orm';
import { queryOne, queryRows, type Q } from '../../platform/index.ts';
import { PRICE_BANDS } from './catalog.core.ts';
import { ITEM_COLUMNS, ITEM_FROM, type ItemFilters, type ItemRow, filterConditions, majorPrice } from './items.repository.ts';

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
    score = sql`ts_rank_cd(i.search_vector, ${tsq}, 1)`;
  } else if (m.mode === 'typo') {
    const tsq = sql`to_tsquery('english', ${m.tsquery})`;
    where = sql`i.search_vector @@ ${tsq}`;
    // Closer spellings of the name first; the trigram measure only orders the (few) matches here.
    score = sql`word_similarity(lower(unaccent(${q})), i.name_norm) + ts_rank_cd(i.search_vector, ${tsq}, 1)`;
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
    async search(qr: Q, tenantId: string, mode: SearchMatch, q: string, f: ItemFilters, page: { offset: number; limit: number }) {
      const m = matchOf(mode, q);
      const where = sql.join([...filterConditions(tenantId, f), m.where], sql` AND `);
      return queryRows<ItemRow & { score: number }>(
        qr,
        sql`SELECT ${ITEM_COLUMNS}, (${m.score})::float8 AS score FROM ${ITEM_FROM(tenantId)} WHERE ${where}
            ORDER BY score DESC, i.id LIMIT ${page.limit} OFFSET ${page.offset}`,
      );
    },

    /** Total and facets (direct category, brand, price band) of the whole match set, in one statement. */
    async facets(qr: Q, tenantId: string, mode: SearchMatch, q: string, f: ItemFilters): Promise<{ total: number; facets: Facets }> {
      const m = matchOf(mode, q);
      const where = sql.join([...filterConditions(tenantId, f), m.where], sql` AND `);
      const band = sql.join(
        PRICE_BANDS.map((b) =>
          b.to === null ? sql`WHEN p >= ${b.from} THEN ${b.key}` : sql`WHEN p >= ${b.from} AND p < ${b.to} THEN ${b.key}`,
        ),
        sql` `,
      );
      const row = await queryOne<{
        total: number;
        categories: Facets['categories'];
        brands: Facets['brands'];
        priceBands: Facets['priceBands'];
      }>(
        qr,
        sql`WITH m AS MATERIALIZED (SELECT i.category_id, i.brand, ${majorPrice} AS p FROM items i WHERE ${where})
            SELECT (SELECT count(*)::int FROM m) AS total,
              (SELECT coalesce(json_agg(json_build_object('id', x.id, 'path', x.path, 'count', x.n) ORDER BY x.n DESC, x.path), '[]'::json)
                 FROM (SELECT c.id, c.path, count(*)::int AS n FROM m JOIN categories c ON c.tenant_id = ${tenantId} AND c.id = m.category_id
                       GROUP BY c.id, c.path ORDER BY n DESC, c.path LIMIT 20) x) AS categories,
              (SELECT coalesce(json_agg(json_build_object('value', x.brand, 'count', x.n) ORDER BY x.n DESC, x.brand), '[]'::json)
                 FROM (SELECT brand, count(*)::int AS n FROM m WHERE brand IS NOT NULL GROUP BY brand ORDER BY n DESC, brand LIMIT 20) x) AS brands,
              (SELECT coalesce(json_agg(json_build_object('key', x.k, 'count', x.n)), '[]'::json)
                 FROM (SELECT CASE ${band} END AS k, count(*)::int AS n FROM m WHERE p IS NOT NULL GROUP BY 1) x) AS "priceBands"`,
      );
      return {
        total: row?.total ?? 0,
        facets: { categories: row?.categories ?? [], brands: row?.brands ?? [], priceBands: row?.priceBands ?? [] },
      };
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
