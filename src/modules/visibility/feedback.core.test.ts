import { describe, expect, it } from 'vitest';
import { summarizeFeedback, themesOf } from './feedback.core.ts';
import { toCsv, toPrometheus } from './metrics.core.ts';

const at = (d: string) => new Date(`${d}T12:00:00Z`);

describe('feedback analytics', () => {
  it('themes from the lexicon', () => {
    expect(themesOf('Setup was confusing and the feed got disapproved')).toEqual(['setup', 'feeds', 'usability']);
    expect(themesOf(null)).toEqual([]);
  });

  it('CSAT, NPS and the daily trend against hand-computed values', () => {
    // Ratings 5,4,2,1,5: 3 of 5 are 4+ -> CSAT 0.6, mean 17/5 = 3.4.
    // NPS answers 10,9,7,3 (one missing): promoters 2, detractors 1 of 4 -> (2-1)/4*100 = 25.
    const s = summarizeFeedback([
      { rating: 5, npsScore: 10, themes: ['feeds'], createdAt: at('2026-12-01') },
      { rating: 4, npsScore: 9, themes: ['feeds', 'setup'], createdAt: at('2026-12-01') },
      { rating: 2, npsScore: 7, themes: ['setup'], createdAt: at('2026-12-02') },
      { rating: 1, npsScore: 3, themes: ['feeds'], createdAt: at('2026-12-02') },
      { rating: 5, npsScore: null, themes: [], createdAt: at('2026-12-03') },
    ]);
    expect(s).toMatchObject({ responses: 5, averageRating: 3.4, satisfaction: 0.6, nps: 25, npsResponses: 4 });
    expect(s.trend).toEqual([
      { date: '2026-12-01', responses: 2, averageRating: 4.5, satisfaction: 1 },
      { date: '2026-12-02', responses: 2, averageRating: 1.5, satisfaction: 0 },
      { date: '2026-12-03', responses: 1, averageRating: 5, satisfaction: 1 },
    ]);
    expect(s.topThemes).toEqual([
      { theme: 'feeds', count: 3 },
      { theme: 'setup', count: 2 },
    ]);
    expect(summarizeFeedback([])).toMatchObject({ responses: 0, averageRating: null, satisfaction: null, nps: null });
  });

  it('metrics as Prometheus text and as CSV that spreadsheets will not execute', () => {
    const samples = [
      { name: 'feed_push_jobs', help: 'Jobs', value: 3, labels: { status: 'success' } },
      { name: 'feed_push_jobs', help: 'Jobs', value: 1, labels: { status: 'fa"il\nx' } },
      { name: 'feedback_nps', help: 'NPS', value: null },
    ];
    expect(toPrometheus(samples, 't1')).toBe(
      '# HELP loupe_feed_push_jobs Jobs\n# TYPE loupe_feed_push_jobs gauge\nloupe_feed_push_jobs{tenant_id="t1",status="success"} 3\nloupe_feed_push_jobs{tenant_id="t1",status="fa\\"il\\nx"} 1\n',
    );
    expect(toCsv([{ name: 'x', help: '', value: 1, labels: { k: '=cmd()' } }, ...samples.slice(2)])).toBe(
      'metric,labels,value\r\nx,k==cmd(),1\r\nfeedback_nps,,\r\n',
    );
    expect(toCsv([{ name: '=evil', help: '', value: 1 }])).toBe(`metric,labels,value\r\n"'=evil",,1\r\n`);
  });
});
