/**
 * Feedback analytics, pure: themes of a comment (a fixed lexicon, so the same comment always gets the same
 * themes), and the summary of a window: CSAT (share of ratings 4 or 5), average rating, NPS (% promoters
 * 9-10 minus % detractors 0-6 among those who answered), a daily trend and the top themes.
 */
const THEMES: Record<string, RegExp> = {
  pricing: /\b(price|pricing|cost|expensive|cheap|plan|billing|subscription)\b/i,
  setup: /\b(setup|set up|onboarding|install|configure|configuration|connect)\w*/i,
  feeds: /\b(feed|merchant center|google shopping|listing|disapprov)\w*/i,
  support: /\b(support|help|answer|response time|contact)\b/i,
  performance: /\b(slow|fast|speed|performance|lag|timeout)\w*/i,
  usability: /\b(confusing|easy|intuitive|ui|ux|dashboard|navigate|design)\b/i,
  reliability: /\b(bug|error|crash|broken|fail|down|outage)\w*/i,
  results: /\b(sales|traffic|clicks|visibility|revenue|conversion)\w*/i,
};

/** The themes a comment touches, in lexicon order. */
export function themesOf(comment: string | null | undefined): string[] {
  if (!comment) return [];
  return Object.entries(THEMES)
    .filter(([, re]) => re.test(comment))
    .map(([t]) => t);
}

export interface FeedbackPoint {
  rating: number;
  npsScore: number | null;
  themes: string[];
  createdAt: Date;
}

export interface FeedbackSummary {
  responses: number;
  averageRating: number | null;
  /** Share (0..1) of ratings of 4 or 5. */
  satisfaction: number | null;
  nps: number | null;
  npsResponses: number;
  trend: { date: string; responses: number; averageRating: number; satisfaction: number }[];
  topThemes: { theme: string; count: number }[];
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** Summary of feedback points (any order); days are UTC dates. O(n). */
export function summarizeFeedback(points: readonly FeedbackPoint[]): FeedbackSummary {
  let sum = 0;
  let satisfied = 0;
  let promoters = 0;
  let detractors = 0;
  let npsN = 0;
  const days = new Map<string, { n: number; sum: number; sat: number }>();
  const themes = new Map<string, number>();
  for (const p of points) {
    sum += p.rating;
    if (p.rating >= 4) satisfied++;
    if (p.npsScore !== null) {
      npsN++;
      if (p.npsScore >= 9) promoters++;
      else if (p.npsScore <= 6) detractors++;
    }
    const day = new Date(p.createdAt).toISOString().slice(0, 10);
    const d = days.get(day) ?? { n: 0, sum: 0, sat: 0 };
    d.n++;
    d.sum += p.rating;
    if (p.rating >= 4) d.sat++;
    days.set(day, d);
    for (const t of p.themes) themes.set(t, (themes.get(t) ?? 0) + 1);
  }
  const n = points.length;
  return {
    responses: n,
    averageRating: n ? round(sum / n) : null,
    satisfaction: n ? round(satisfied / n) : null,
    nps: npsN ? round(((promoters - detractors) / npsN) * 100, 2) : null,
    npsResponses: npsN,
    trend: [...days.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, d]) => ({ date, responses: d.n, averageRating: round(d.sum / d.n), satisfaction: round(d.sat / d.n) })),
    topThemes: [...themes.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([theme, count]) => ({ theme, count })),
  };
}
