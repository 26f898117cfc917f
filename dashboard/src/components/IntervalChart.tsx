export interface IntervalRow {
  label: string;
  estimate: number | null;
  low: number | null;
  high: number | null;
}

const fmt = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * Effects with their intervals on one axis (a forest plot, SVG): a dot per variant, its interval as a bar, the
 * zero line dashed. Green when the whole interval is above 0, red when below, grey otherwise.
 */
export function IntervalChart({ rows, label }: { rows: IntervalRow[]; label: string }) {
  const shown = rows.filter((r) => r.estimate !== null && r.low !== null && r.high !== null);
  if (!shown.length) return null;
  const lo = Math.min(0, ...shown.map((r) => r.low as number));
  const hi = Math.max(0, ...shown.map((r) => r.high as number));
  const span = hi - lo || 1;
  const width = 560;
  const left = 130;
  const plot = width - left - 20;
  const x = (v: number) => left + ((v - lo) / span) * plot;
  const rowH = 30;
  const height = shown.length * rowH + 30;
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height}`} width="100%" style={{ maxWidth: width }}>
      <line x1={x(0)} x2={x(0)} y1={4} y2={height - 22} stroke="#868e96" strokeDasharray="4 3" />
      {shown.map((r, i) => {
        const y = 18 + i * rowH;
        const color = (r.low as number) > 0 ? '#2b8a3e' : (r.high as number) < 0 ? '#c92a2a' : '#495057';
        return (
          <g key={r.label}>
            <text x={left - 8} y={y + 4} textAnchor="end" fontSize="12" fill="#212529">
              {r.label}
            </text>
            <line x1={x(r.low as number)} x2={x(r.high as number)} y1={y} y2={y} stroke={color} strokeWidth={3} strokeLinecap="round" />
            <circle cx={x(r.estimate as number)} cy={y} r={5} fill={color} />
            <title>{`${r.label}: ${fmt(r.estimate as number)} [${fmt(r.low as number)}, ${fmt(r.high as number)}]`}</title>
          </g>
        );
      })}
      <text x={x(lo)} y={height - 6} fontSize="11" fill="#495057">
        {fmt(lo)}
      </text>
      <text x={x(0)} y={height - 6} fontSize="11" fill="#495057" textAnchor="middle">
        0
      </text>
      <text x={x(hi)} y={height - 6} fontSize="11" fill="#495057" textAnchor="end">
        {fmt(hi)}
      </text>
    </svg>
  );
}
