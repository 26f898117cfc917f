/**
 * Parsers for the files the `loupe predict` commands read (pure: text in, typed columns out). Every problem
 * is reported with the file's line number and the column, so a user can fix the file.
 */
import { parse } from 'csv-parse/sync';
import { validation } from '../../platform/index.ts';

const BAD_FILE = 'PREDICTIONS_BAD_FILE';

function readCsv(text: string, what: string): { header: string[]; rows: string[][] } {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: true, bom: true }) as string[][];
  } catch (err) {
    throw validation(BAD_FILE, `${what}: not a readable CSV file (${(err as Error).message.split('\n')[0]})`);
  }
  const [header, ...rows] = records;
  if (!header) throw validation(BAD_FILE, `${what}: the file is empty (a header line is required)`);
  return { header: header.map((h) => h.toLowerCase()), rows };
}

function column(header: string[], what: string, names: readonly string[], required: boolean): number {
  const i = header.findIndex((h) => names.some((n) => n.toLowerCase() === h));
  if (i < 0 && required)
    throw validation(BAD_FILE, `${what}: missing column ${names.map((n) => `"${n}"`).join(' or ')} in the header line`);
  return i;
}

/** Line number of data row `r` (0-based) in the file: the header is line 1. Blank lines are skipped by the parser. */
const lineOf = (r: number): number => r + 2;

function numberAt(rows: string[][], r: number, c: number, name: string, what: string): number {
  const raw = rows[r]![c];
  if (raw === undefined || raw === '') throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: column "${name}" is empty`);
  const v = Number(raw);
  if (!Number.isFinite(v))
    throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: column "${name}" is not a number (${JSON.stringify(raw.slice(0, 40))})`);
  return v;
}

/** An RFM summary file: `ID,frequency,recency,T` or `ID,x,t_x,T`, optionally `zbar` / `monetary_value`. */
export interface ClvSummaryFile {
  ids: string[];
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  monetary: Float64Array | undefined;
}

/** Parses a CDNOW-style summary. Throws a validation AppError naming the row and column of the first problem. */
export function parseClvSummary(text: string): ClvSummaryFile {
  const what = 'summary';
  const { header, rows } = readCsv(text, what);
  const cId = column(header, what, ['id', 'customer_id'], true);
  const cX = column(header, what, ['frequency', 'x'], true);
  const cTx = column(header, what, ['recency', 't_x'], true);
  const cT = column(header, what, ['T'], true);
  const cM = column(header, what, ['zbar', 'monetary_value', 'monetary'], false);
  const n = rows.length;
  if (n === 0) throw validation(BAD_FILE, `${what}: no customer rows after the header`);
  const out: ClvSummaryFile = {
    ids: new Array<string>(n),
    frequency: new Float64Array(n),
    recency: new Float64Array(n),
    T: new Float64Array(n),
    monetary: cM >= 0 ? new Float64Array(n) : undefined,
  };
  for (let r = 0; r < n; r++) {
    out.ids[r] = rows[r]![cId] ?? '';
    const x = numberAt(rows, r, cX, header[cX]!, what);
    const tx = numberAt(rows, r, cTx, header[cTx]!, what);
    const T = numberAt(rows, r, cT, header[cT]!, what);
    if (x < 0 || !Number.isInteger(x)) throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: "${header[cX]}" must be a whole number >= 0`);
    if (tx < 0 || T <= 0 || tx > T) throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: needs 0 <= recency <= T and T > 0`);
    if (x > 0 && tx === 0) throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: repeat purchases with recency 0`);
    out.frequency[r] = x;
    out.recency[r] = tx;
    out.T[r] = T;
    if (out.monetary) out.monetary[r] = numberAt(rows, r, cM, header[cM]!, what);
  }
  return out;
}

/** One purchase (or refund, when amount < 0) of a transactions file. `day` counts days since 1970-01-01 (UTC). */
export interface TransactionsFile {
  customerIds: string[];
  day: Float64Array;
  amount: Float64Array;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/;

/** Fractional days since the epoch of an ISO-like date or date-time (read as UTC), or NaN. */
export function parseDay(raw: string): number {
  const m = DATE_RE.exec(raw);
  if (!m) return Number.NaN;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  const d = new Date(ms);
  if (d.getUTCDate() !== +m[3]! || d.getUTCMonth() !== +m[2]! - 1) return Number.NaN;
  return ms / 86_400_000;
}

/** Parses `customer_id,date,amount` rows (any column order, extra columns ignored). */
export function parseTransactions(text: string): TransactionsFile {
  const what = 'transactions';
  const { header, rows } = readCsv(text, what);
  const cId = column(header, what, ['customer_id', 'customerid', 'id'], true);
  const cD = column(header, what, ['date', 'invoicedate', 'timestamp'], true);
  const cA = column(header, what, ['amount', 'value', 'revenue'], true);
  const n = rows.length;
  const out: TransactionsFile = { customerIds: new Array<string>(n), day: new Float64Array(n), amount: new Float64Array(n) };
  for (let r = 0; r < n; r++) {
    const id = rows[r]![cId] ?? '';
    if (id === '') throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: column "${header[cId]}" is empty`);
    out.customerIds[r] = id;
    const day = parseDay(rows[r]![cD] ?? '');
    if (Number.isNaN(day)) throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: column "${header[cD]}" is not a date (YYYY-MM-DD)`);
    out.day[r] = day;
    out.amount[r] = numberAt(rows, r, cA, header[cA]!, what);
  }
  return out;
}

/** A daily series: `date,value`, in any order, possibly with gaps (filled with 0 by the caller's choice). */
export interface SeriesFile {
  /** Day number (days since 1970-01-01) of `values[0]`. */
  startDay: number;
  /** One value per day from `startDay`, gaps filled with 0. */
  values: Float64Array;
  /** Days that were missing from the file and filled. */
  filled: number;
}

/** Parses a `date,value` file into a gap-free daily series (missing days are 0, repeated days are summed). */
export function parseSeries(text: string, maxDays = 40_000): SeriesFile {
  const what = 'series';
  const { header, rows } = readCsv(text, what);
  const cD = column(header, what, ['date', 'day', 'ds'], true);
  const cV = column(header, what, ['value', 'y', 'revenue', 'amount'], true);
  if (rows.length === 0) throw validation(BAD_FILE, `${what}: no rows after the header`);
  const days = new Float64Array(rows.length);
  const vals = new Float64Array(rows.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < rows.length; r++) {
    const d = parseDay(rows[r]![cD] ?? '');
    if (Number.isNaN(d)) throw validation(BAD_FILE, `${what}: row ${lineOf(r)}: column "${header[cD]}" is not a date (YYYY-MM-DD)`);
    days[r] = Math.floor(d);
    vals[r] = numberAt(rows, r, cV, header[cV]!, what);
    lo = Math.min(lo, days[r]!);
    hi = Math.max(hi, days[r]!);
  }
  const len = hi - lo + 1;
  if (len > maxDays) throw validation(BAD_FILE, `${what}: spans ${len} days; at most ${maxDays} are accepted`);
  const values = new Float64Array(len);
  const seen = new Uint8Array(len);
  for (let r = 0; r < rows.length; r++) {
    const i = days[r]! - lo;
    values[i]! += vals[r]!;
    seen[i] = 1;
  }
  let filled = 0;
  for (let i = 0; i < len; i++) if (!seen[i]) filled++;
  return { startDay: lo, values, filled };
}
