/**
 * Parses the first rows of a delimited text file in the browser, for the import preview only (the
 * server parses the whole file again with csv-parse). Handles quotes, doubled quotes, CRLF and a BOM.
 */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** The delimiter that splits the first lines into the most, equal, columns. */
export function sniffDelimiter(text: string): string {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(0, 10);
  let best = ',';
  let bestScore = 0;
  for (const d of DELIMITERS) {
    const counts = lines.map((l) => parseLine(l, d).length);
    const first = counts[0] ?? 0;
    const consistent = counts.filter((c) => c === first).length;
    const score = first > 1 ? first * consistent : 0;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

function parseLine(line: string, delimiter: string): string[] {
  return parseRows(line, delimiter, 1)[0] ?? [];
}

/** Up to `maxRows` records (the header included) of `text`. A record may span lines inside quotes. */
export function parseRows(text: string, delimiter: string, maxRows: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length && rows.length < maxRows; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (rows.length < maxRows && (field !== '' || row.length > 0)) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma or line break. A text that a spreadsheet would run as
 * a formula (starting with = + - @, a tab or a carriage return: OWASP's CSV-injection list) is prefixed with '; numbers,
 * booleans and null stay as they are, so a negative amount is still a number in the sheet.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v !== 'number' && typeof v !== 'bigint' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A header and rows as CSV text, records separated by CRLF (no line break after the last: RFC 4180 allows both). */
export function csvText(header: readonly unknown[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n');
}

/** Rows as CSV text, the columns given in order with their labels as the header. */
export function toCsv<T extends object>(rows: readonly T[], columns: readonly { key: string; label: string }[]): string {
  return csvText(
    columns.map((c) => c.label),
    rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c.key])),
  );
}
