/** Report ranges in the reader's own time zone (the analytics API cuts local days in the `tz` it is given). */

/** The browser's IANA zone: reports are cut in the reader's local days. */
export const BROWSER_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

const ymd = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** The report query of a preset (the last N local days, today included) or of a custom from/to (local dates, inclusive). */
export function rangeQuery(preset: string, from: string, to: string): { from: string; to: string; tz: string } {
  if (preset === 'custom' && from && to) return { from, to, tz: BROWSER_TZ };
  const days = Number(preset) || 30;
  const today = new Date();
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1));
  return { from: ymd(start), to: ymd(today), tz: BROWSER_TZ };
}

/** A bucket label ('2026-03-08' or '2026-03-08T14:00') as unix seconds of that local time, for the chart's x axis. */
export function bucketSeconds(label: string): number {
  const [date, time] = label.split('T');
  const [y, m, d] = (date ?? '').split('-').map(Number);
  return new Date(y!, (m ?? 1) - 1, d ?? 1, Number((time ?? '0').slice(0, 2))).getTime() / 1000;
}

/**
 * The report range of the period: the last N days up to today, or, when the store's latest data is older than
 * that (an imported history), the last N days up to its latest day, so the figures are not all zero.
 */
export function anchoredRange(
  period: string,
  latest: string | null | undefined,
): { from: string; to: string; tz: string; anchored: boolean } {
  const recent = rangeQuery(period, '', '');
  if (!latest) return { ...recent, anchored: false };
  const last = new Date(latest);
  if (Number.isNaN(last.getTime())) return { ...recent, anchored: false };
  const lastDay = ymd(last);
  if (lastDay >= recent.from) return { ...recent, anchored: false };
  const start = new Date(last.getFullYear(), last.getMonth(), last.getDate() - (Number(period) - 1));
  return { from: ymd(start), to: lastDay, tz: recent.tz, anchored: true };
}
/** A local day label ('2026-03-08') as the reader's medium date. */
export const fmtDay = (day: string) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y!, (m ?? 1) - 1, d ?? 1).toLocaleDateString(undefined, { dateStyle: 'medium' });
};
