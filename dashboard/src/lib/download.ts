import { csvText } from './csv.ts';

/** Saves a header and rows as a CSV file in the browser (`csvText`: RFC 4180, formula-looking text neutralised). */
export function downloadCsv(fileName: string, header: readonly string[], rows: readonly (readonly unknown[])[]): void {
  downloadCsvText(fileName, csvText(header, rows));
}

/** Saves CSV text (from `toCsv` or `csvText`) as a file in the browser. */
export function downloadCsvText(fileName: string, text: string): void {
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
  // Revoked later: some browsers start reading the object URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
