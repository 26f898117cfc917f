/** The newsfeed rules form's fields and what saving them writes into the tenant's settings (pages/Newsfeed.tsx). */

/** The server's defaults (newsfeed.core DEFAULT_FEED_RULES, sponsored DEFAULT_SPONSORED_SETTINGS). */
export const DEFAULTS = {
  category_window: 5,
  brand_window: 4,
  items_per_module: 4,
  modules_per_page: 5,
  not_shown_within_days: 7,
  popularity_damping: 0,
  feed_positions: [3, 8],
};
/** `nested`: kept under settings.newsfeed.rules (newsfeed.service rulesOf), the others at settings.newsfeed's top. */
export const RULES = [
  { key: 'category_window', label: 'One item of a category in any', unit: 'consecutive items', min: 0, max: 50, step: 1, nested: false },
  { key: 'brand_window', label: 'One item of a brand in any', unit: 'consecutive items', min: 0, max: 50, step: 1, nested: false },
  { key: 'items_per_module', label: 'Items per module', unit: '', min: 1, max: 20, step: 1, nested: false },
  { key: 'modules_per_page', label: 'Modules per page', unit: '', min: 1, max: 20, step: 1, nested: false },
  {
    key: 'not_shown_within_days',
    label: 'Do not repeat items shown in the last',
    unit: 'days (0: off)',
    min: 0,
    max: 365,
    step: 1,
    nested: true,
  },
  {
    key: 'popularity_damping',
    label: 'Popularity damping',
    unit: '0 (off) to 1: lowers Trending items in For you and Because you viewed, to show more of the catalog',
    min: 0,
    max: 1,
    step: 0.01,
    nested: true,
  },
] as const;
export type RuleKey = (typeof RULES)[number]['key'];

/** The tenant settings a saved draft makes: top-level rules, nested ones under `newsfeed.rules`, the sponsored positions. */
export function feedSettingsPatch(
  settings: Record<string, unknown>,
  draft: Record<RuleKey, number> & { positions: string },
): Record<string, unknown> {
  const { positions, ...rules } = draft;
  const nf = (settings.newsfeed ?? {}) as Record<string, unknown>;
  const top: Record<string, number> = {};
  const nested: Record<string, number> = {};
  for (const r of RULES) (r.nested ? nested : top)[r.key] = rules[r.key];
  const feed_positions = positions
    .split(/[\s,]+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 1);
  return {
    ...settings,
    newsfeed: { ...nf, ...top, rules: { ...((nf.rules as Record<string, unknown>) ?? {}), ...nested } },
    sponsored: { ...((settings.sponsored as Record<string, unknown>) ?? {}), feed_positions },
  };
}
