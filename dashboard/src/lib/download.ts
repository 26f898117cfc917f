/** Saves rows as a CSV file in the browser (RFC 4180 quoting; a formula-looking cell is prefixed with '). */
export function downloadCsv(fileName: string, header: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const cell = (v: unknown): string => {
    let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=+\-@]/.test(s) && typeof v === 'string') s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const text = [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n');
  save(fileName, new Blob([text], { type: 'text/csv;charset=utf-8' }));
}

/** Saves a value as a pretty-printed JSON file in the browser. */
export function downloadJson(fileName: string, value: unknown): void {
  save(fileName, new Blob([`${JSON.stringify(value, null, 2)}\n`], { type: 'application/json' }));
}

function save(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  URL.revokeObjectURL(url);
}
