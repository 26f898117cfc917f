const num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export const fmtNumber = (n: unknown): string =>
  typeof n === 'number' && Number.isFinite(n)
    ? num.format(n)
    : typeof n === 'string' && n !== '' && !Number.isNaN(Number(n))
      ? num.format(Number(n))
      : '—';
export const fmtPercent = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '—');
export const fmtMoney = (n: unknown, currency = 'USD'): string =>
  typeof n === 'number' && Number.isFinite(n) ? new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(n) : '—';
export function fmtDate(s: unknown): string {
  if (typeof s !== 'string' || !s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}
export function str(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
