import { describe, expect, it } from 'vitest';
import { feedSettingsPatch } from '../../dashboard/src/lib/feed-settings.ts';

describe('the newsfeed settings form', () => {
  it('saves window rules at settings.newsfeed, the repeat and damping rules under newsfeed.rules, keeping the rest', () => {
    const before = {
      timezone: 'Europe/Paris',
      newsfeed: { category_window: 5, rules: { not_shown_within_days: 7, other: true } },
      sponsored: { feed_positions: [3, 8], reserve: 1 },
    };
    const out = feedSettingsPatch(before, {
      category_window: 3,
      brand_window: 4,
      items_per_module: 6,
      modules_per_page: 5,
      not_shown_within_days: 0,
      popularity_damping: 0.25,
      positions: '2, 7,x, 0',
    });
    expect(out).toEqual({
      timezone: 'Europe/Paris',
      newsfeed: {
        category_window: 3,
        brand_window: 4,
        items_per_module: 6,
        modules_per_page: 5,
        rules: { not_shown_within_days: 0, popularity_damping: 0.25, other: true },
      },
      sponsored: { feed_positions: [2, 7], reserve: 1 },
    });
  });
});
