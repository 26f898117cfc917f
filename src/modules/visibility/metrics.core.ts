/**
 * Operational metrics of a tenant as CSV and as Prometheus text exposition (format 0.0.4). Pure.
 */
export interface MetricSample {
  /** snake_case, prefixed loupe_ in Prometheus output. */
  name: string;
  help: string;
  value: number | null;
  labels?: Record<string, string>;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Prometheus text: one HELP and TYPE gauge per metric name, samples with escaped labels; null samples are left out. */
export function toPrometheus(samples: readonly MetricSample[], tenantId: string): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    if (s.value === null || !Number.isFinite(s.value)) continue;
    const name = `loupe_${s.name}`;
    if (!seen.has(name)) {
      seen.add(name);
      out.push(`# HELP ${name} ${s.help.replace(/\n/g, ' ')}`, `# TYPE ${name} gauge`);
    }
    const labels = Object.entries({ tenant_id: tenantId, ...(s.labels ?? {}) })
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    out.push(`${name}{${labels}} ${s.value}`);
  }
  return `${out.join('\n')}\n`;
}

const cell = (v: string) =>
  /[",\n\r]/.test(v) || /^[=+\-@\t]/.test(v) ? `"${(/^[=+\-@\t]/.test(v) ? `'${v}` : v).replace(/"/g, '""')}"` : v;

/** CSV with a header: metric, labels (k=v;k=v), value (empty when unknown). Cells that spreadsheets would run as formulas are quoted. */
export function toCsv(samples: readonly MetricSample[]): string {
  const rows = [['metric', 'labels', 'value']];
  for (const s of samples)
    rows.push([
      s.name,
      Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      s.value === null ? '' : String(s.value),
    ]);
  return `${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}
