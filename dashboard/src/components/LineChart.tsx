import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
}

const COLORS = ['#1c7ed6', '#e8590c', '#2b8a3e', '#862e9c', '#c92a2a'];

/**
 * A small line chart (uPlot: about 20 kB gzip, canvas). `x` is unix seconds when `time` is set, otherwise
 * plain numbers (epochs). The accessible name and a text summary come from the caller.
 */
export function LineChart({
  x,
  series,
  time = true,
  label,
  height = 240,
}: {
  x: number[];
  series: Series[];
  time?: boolean;
  label: string;
  height?: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      scales: { x: { time } },
      legend: { show: true },
      series: [
        { label: time ? 'Time' : 'Epoch' },
        ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true })),
      ],
      axes: [{}, { size: 60 }],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series, time, height]);
  return <div ref={ref} className="chart" role="img" aria-label={label} />;
}
