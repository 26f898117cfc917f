export interface Bar {
  label: string;
  value: number;
}

/** Horizontal bars (SVG) with their values at the end; the accessible name comes from the caller. */
export function BarChart({ bars, label, format = String }: { bars: Bar[]; label: string; format?: (v: number) => string }) {
  if (!bars.length) return null;
  const width = 560;
  const left = 150;
  const right = 70;
  const rowH = 24;
  const height = bars.length * rowH + 8;
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${width} ${height}`} width="100%" style={{ maxWidth: width }}>
      {bars.map((b, i) => {
        const y = 4 + i * rowH;
        const w = Math.max(1, ((width - left - right) * Math.max(0, b.value)) / max);
        return (
          <g key={b.label}>
            <text x={left - 8} y={y + 15} textAnchor="end" fontSize="12" fill="#212529">
              {b.label}
            </text>
            <rect x={left} y={y + 3} width={w} height={rowH - 8} fill="#1c7ed6" rx={3} />
            <text x={left + w + 6} y={y + 15} fontSize="12" fill="#495057">
              {format(b.value)}
            </text>
            <title>{`${b.label}: ${format(b.value)}`}</title>
          </g>
        );
      })}
    </svg>
  );
}
