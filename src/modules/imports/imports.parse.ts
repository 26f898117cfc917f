/**
 * Streaming readers for uploaded files: gzip detection (magic bytes) with a decompressed-size cap,
 * format detection, CSV (sniffed delimiter, quotes, BOM, CRLF), JSON arrays and NDJSON. Memory is
 * bounded by one record, whatever the file size.
 */
import { StringDecoder } from 'node:string_decoder';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { parse as csvParse, type CsvError } from 'csv-parse';
import { AppError, quoteBigIntegers } from '../../platform/index.ts';
import { sniffDelimiter } from './imports.columns.ts';
import { displayText, type RawRecord } from './imports.core.ts';

export type ImportFormat = 'csv' | 'json' | 'ndjson';

/** Largest single record (CSV row or JSON element) read; beyond it the file is refused. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Decompressed size cap for gzip input: the larger of this floor and RATIO × the compressed size. */
export const GZIP_FLOOR_BYTES = 256 * 1024 * 1024;
export const GZIP_RATIO = 200;

export const gzipCap = (compressedBytes: number, hardCap: number): number =>
  Math.min(hardCap, Math.max(GZIP_FLOOR_BYTES, GZIP_RATIO * compressedBytes));

export type ParseEvent =
  | { type: 'header'; headers: string[]; format: ImportFormat; delimiter: string | null }
  | { type: 'record'; row: number; record: RawRecord }
  | { type: 'row_error'; row: number; code: string; reason: string };

const isGzip = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Reads up to `n` bytes from the head of a byte stream and gives back a stream that replays them. */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    parts.push(b);
    size += b.length;
  }
  const head = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, rest: rest() };
}

/** Gunzips when the stream starts with gzip's magic bytes; refuses output beyond `cap` bytes (zip bombs). */
export async function maybeGunzip(source: AsyncIterable<Buffer>, cap: number): Promise<{ gzip: boolean; stream: AsyncIterable<Buffer> }> {
  const { head, rest } = await peek(source, 2);
  if (!isGzip(head)) return { gzip: false, stream: rest };
  const gunzip = createGunzip();
  const input = Readable.from(rest);
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  async function* capped(): AsyncGenerator<Buffer> {
    let total = 0;
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > cap) {
          throw new AppError(
            'payload_too_large',
            'IMPORT_DECOMPRESSED_TOO_LARGE',
            `The gzip file expands beyond ${Math.round(cap / 1024 / 1024)} MiB; it looks like a zip bomb and was refused. Upload it uncompressed or split it.`,
          );
        }
        yield chunk;
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('validation', 'IMPORT_GZIP_CORRUPT', 'The gzip data is corrupt or truncated.', { cause: err });
    } finally {
      input.destroy();
      gunzip.destroy();
    }
  }
  return { gzip: true, stream: capped() };
}

/** Compressed (or plain) bytes read from the start of a file to estimate its row count. */
const ESTIMATE_HEAD_BYTES = 256 * 1024;
/** Decompressed bytes looked at for the estimate; a head that expands beyond it gives no estimate. */
const ESTIMATE_MAX_OUTPUT = 16 * 1024 * 1024;

/**
 * Estimates the rows of a file (CSV / NDJSON lines, or JSON objects) from its first 256 KiB: the rows in the
 * decompressed head, scaled by the file's size over the head's size (compressed bytes for gzip). Null when the
 * head says nothing (corrupt gzip, a head that expands too far to look at).
 */
export async function estimateRows(source: Readable, totalBytes: number): Promise<number | null> {
  let head: Buffer;
  try {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      n += chunk.length;
      if (n >= ESTIMATE_HEAD_BYTES) break;
    }
    head = Buffer.concat(chunks).subarray(0, ESTIMATE_HEAD_BYTES);
  } finally {
    source.destroy();
  }
  if (!head.length) return 0;
  let text: Buffer = head;
  if (isGzip(head)) {
    try {
      text = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: ESTIMATE_MAX_OUTPUT });
    } catch {
      return null;
    }
  }
  let lines = 0;
  let objects = 0;
  for (let i = text.indexOf(10); i !== -1; i = text.indexOf(10, i + 1)) lines++;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) objects++;
  const inHead = Math.max(lines, Math.min(objects, text.length / 8));
  return Math.round((inHead * Math.max(totalBytes, head.length)) / head.length);
}

const startsWith = (b: Buffer, ...bytes: number[]): boolean => b.length >= bytes.length && bytes.every((x, i) => b[i] === x);
const EXPORT_AS_CSV = 'export the sheet as CSV (UTF-8) and upload that file (gzip it if it is large)';

/**
 * Refuses input that is not text before any row is read: Excel workbooks (xlsx is a zip: `PK\x03\x04`;
 * legacy xls is an OLE file: `D0 CF 11 E0`), a gzip inside a gzip, UTF-16 text, other known binary
 * formats, and bytes that are mostly control characters. `head` is the start of the decompressed file.
 * The message names the kind of file and never quotes its bytes.
 */
export function binaryInputError(head: Buffer, gzip: boolean): AppError | null {
  const refuse = (code: string, message: string) => new AppError('validation', code, message);
  if (startsWith(head, 0x50, 0x4b, 0x03, 0x04))
    return refuse('IMPORT_EXCEL_FILE', `This is an Excel file (.xlsx) or another zip archive, not CSV or JSON text: ${EXPORT_AS_CSV}.`);
  if (startsWith(head, 0xd0, 0xcf, 0x11, 0xe0))
    return refuse('IMPORT_EXCEL_FILE', `This is an Excel file (legacy .xls), not CSV or JSON text: ${EXPORT_AS_CSV}.`);
  if (gzip && isGzip(head))
    return refuse('IMPORT_DOUBLE_GZIP', 'The file is compressed twice (a gzip inside a gzip): decompress it once and upload it again.');
  if (startsWith(head, 0xff, 0xfe) || startsWith(head, 0xfe, 0xff))
    return refuse(
      'IMPORT_UTF16_TEXT',
      'The file is UTF-16 text (as Excel\'s "Unicode text" writes it): save it as CSV UTF-8 and upload it again.',
    );
  const known: [number[], string][] = [
    [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
    [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
    [[0xff, 0xd8, 0xff], 'a JPEG image'],
    [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
    [[0x42, 0x5a, 0x68], 'a bzip2 archive'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'an xz archive'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'a zstd archive'],
    [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], 'a 7-Zip archive'],
    [[0x52, 0x61, 0x72, 0x21], 'a RAR archive'],
    [[0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66], 'an SQLite database'],
  ];
  for (const [magic, what] of known) {
    if (startsWith(head, ...magic))
      return refuse(
        'IMPORT_BINARY_FILE',
        `This is ${what}, not CSV, JSON or NDJSON text: upload the data as CSV or JSON (UTF-8, optionally gzipped).`,
      );
  }
  // Text has few control characters; a stray NUL in one row is a row error, not a binary file.
  const sample = head.subarray(0, 8192);
  let control = 0;
  for (const b of sample) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) control++;
  if (sample.length >= 16 && control / sample.length > 0.1)
    return refuse(
      'IMPORT_BINARY_FILE',
      `The file does not look like text (${Math.round((100 * control) / sample.length)}% of its first bytes are control characters): upload CSV, JSON or NDJSON (UTF-8, optionally gzipped).`,
    );
  return null;
}

/** Reads the head of a stored file (through gzip when compressed) and says whether it must be refused as binary. */
export async function sniffBinaryInput(source: Readable, cap: number): Promise<AppError | null> {
  try {
    const { gzip, stream } = await maybeGunzip(source as AsyncIterable<Buffer>, cap);
    try {
      const { head } = await peek(stream, 8192);
      return binaryInputError(head, gzip);
    } finally {
      await (stream as AsyncGenerator<Buffer>).return?.(undefined);
    }
  } catch {
    return null; // corrupt gzip and the like: reported by the pipeline with their own codes
  } finally {
    source.destroy();
  }
}

/** Decides the format from the request, then the file name, then the first character. */
export function detectFormat(given: ImportFormat | undefined, fileName: string, head: string): ImportFormat {
  if (given) return given;
  const name = fileName.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (name.endsWith('.json')) return head.trimStart().startsWith('{') ? 'ndjson' : 'json';
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.txt')) return 'csv';
  const first = head.replace(/^\uFEFF/, '').trimStart()[0];
  return first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv';
}

/**
 * Parses decompressed bytes into records. Emits the header first (CSV: the first row; JSON: the keys of
 * the first objects), then each record with its row number (CSV: the file line the row ends on, the
 * header being line 1; JSON: the element's 1-based position; NDJSON: the line), and row-level errors.
 */
export async function* readRecords(
  source: AsyncIterable<Buffer>,
  opts: { format?: ImportFormat | undefined; delimiter?: string | undefined; fileName: string; gzip?: boolean },
): AsyncGenerator<ParseEvent> {
  const { head, rest } = await peek(source, 64 * 1024);
  const binary = binaryInputError(head, opts.gzip ?? false);
  if (binary) throw binary;
  const headText = head.toString('utf8');
  if (headText.replace(/^\uFEFF/, '').trim() === '') throw new AppError('validation', 'IMPORT_EMPTY_FILE', 'The file is empty.');
  const format = detectFormat(opts.format, opts.fileName, headText);
  if (format === 'csv') yield* readCsv(rest, opts.delimiter ?? sniffDelimiter(headText.replace(/^\uFEFF/, '')));
  else yield* readJson(rest, format);
}

async function* readCsv(source: AsyncIterable<Buffer>, delimiter: string): AsyncGenerator<ParseEvent> {
  const queue: ParseEvent[] = [];
  let headers: string[] | null = null;
  let lastLine = 0;
  let failure: unknown;
  const parser = csvParse({
    delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
    on_skip: (err: CsvError | undefined) => {
      const row = lastLine + 1;
      const code = err?.code ?? 'CSV_INVALID';
      if (code === 'CSV_MAX_RECORD_SIZE') {
        throw new AppError(
          'payload_too_large',
          'IMPORT_RECORD_TOO_LARGE',
          `Row ${row} is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MiB; the file was refused.`,
        );
      }
      const reason =
        code === 'CSV_QUOTE_NOT_CLOSED'
          ? `a quoted field opened on row ${row} is never closed; the rest of the file was read as part of it`
          : `malformed CSV row (${(err?.message ?? code).slice(0, 200)})`;
      queue.push({ type: 'row_error', row, code: code === 'CSV_QUOTE_NOT_CLOSED' ? 'UNTERMINATED_QUOTE' : 'MALFORMED_ROW', reason });
      if (err && typeof (err as { lines?: number }).lines === 'number') lastLine = (err as unknown as { lines: number }).lines;
    },
    on_record: (record: string[], context: { lines: number }) => {
      const line = context.lines;
      lastLine = line;
      if (!headers) {
        const seen = new Map<string, number>();
        headers = record.map((h, i) => {
          const base = h.trim() === '' ? `column_${i + 1}` : h.trim();
          const n = (seen.get(base) ?? 0) + 1;
          seen.set(base, n);
          return n > 1 ? `${base}_${n}` : base;
        });
        queue.push({ type: 'header', headers, format: 'csv', delimiter });
        return null;
      }
      if (record.length !== headers.length) {
        // A lone trailing delimiter, or a blank line of delimiters, is not worth rejecting a row for.
        if (!(record.length === headers.length + 1 && record[record.length - 1] === '') && !record.every((v) => v === '')) {
          queue.push({
            type: 'row_error',
            row: line,
            code: 'RAGGED_ROW',
            reason: `row has ${record.length} columns; the header has ${headers.length} (check the delimiter and quoting)`,
          });
          return null;
        }
        if (record.every((v) => v === '')) return null;
      }
      const rec: RawRecord = {};
      for (let i = 0; i < headers.length; i++) rec[headers[i]!] = record[i];
      queue.push({ type: 'record', row: line, record: rec });
      return null;
    },
  });
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('data', () => undefined);
  const check = () => {
    if (failure)
      throw failure instanceof AppError
        ? failure
        : new AppError(
            'validation',
            'IMPORT_CSV_INVALID',
            `The CSV could not be read: ${displayText(String((failure as Error).message ?? failure).slice(0, 300))}`,
          );
  };
  for await (const chunk of source) {
    parser.write(chunk);
    check();
    while (queue.length) yield queue.shift()!;
  }
  await new Promise<void>((resolve) => {
    parser.once('end', resolve);
    parser.once('error', () => resolve());
    parser.end();
  });
  check();
  while (queue.length) yield queue.shift()!;
  if (!headers) throw new AppError('validation', 'IMPORT_EMPTY_FILE', 'The file is empty.');
}

function parseElement(text: string, row: number): ParseEvent {
  try {
    const v: unknown = JSON.parse(/\d{16}/.test(text) ? quoteBigIntegers(text) : text);
    if (!v || typeof v !== 'object' || Array.isArray(v))
      return { type: 'row_error', row, code: 'ROW_NOT_AN_OBJECT', reason: 'each element must be a JSON object' };
    return { type: 'record', row, record: v as RawRecord };
  } catch (err) {
    return { type: 'row_error', row, code: 'INVALID_JSON', reason: `invalid JSON (${(err as Error).message.slice(0, 120)})` };
  }
}

/**
 * JSON array or NDJSON, scanned character by character for element boundaries (strings and escapes
 * respected), each element then given to JSON.parse. The first 1,000 elements are held to learn the keys.
 */
async function* readJson(source: AsyncIterable<Buffer>, format: 'json' | 'ndjson'): AsyncGenerator<ParseEvent> {
  const decoder = new StringDecoder('utf8');
  const pending: ParseEvent[] = [];
  let headerSent = false;
  const keys = new Set<string>();
  let buf = '';
  let pos = 0;
  let start = -1;
  let depth = 0;
  let inStr = false;
  let esc = false;
  let row = 0;
  let line = 1;
  let elementLine = 1;
  let opened = format === 'ndjson';
  let closed = false;

  function* emit(ev: ParseEvent): Generator<ParseEvent> {
    if (headerSent) {
      yield ev;
      return;
    }
    pending.push(ev);
    if (ev.type === 'record') for (const k of Object.keys(ev.record)) keys.add(k);
    if (pending.length >= 1000) yield* flushHeader();
  }
  function* flushHeader(): Generator<ParseEvent> {
    if (headerSent) return;
    headerSent = true;
    yield { type: 'header', headers: [...keys], format, delimiter: null };
    yield* pending.splice(0);
  }

  const scan = function* (final: boolean): Generator<ParseEvent> {
    for (; pos < buf.length; pos++) {
      const c = buf.charCodeAt(pos);
      if (c === 10) line++;
      if (inStr) {
        if (esc) esc = false;
        else if (c === 92) esc = true;
        else if (c === 34) inStr = false;
        continue;
      }
      if (closed) {
        if (c > 32) throw new AppError('validation', 'IMPORT_JSON_INVALID', 'Unexpected content after the closing ] of the JSON array.');
        continue;
      }
      if (!opened) {
        if (c === 0xfeff || c <= 32) continue;
        if (c !== 91)
          throw new AppError(
            'validation',
            'IMPORT_JSON_INVALID',
            'A JSON upload must be an array of objects ([{...}, ...]) or NDJSON (one object per line).',
          );
        opened = true;
        continue;
      }
      if (start < 0) {
        if (c <= 32 || c === 0xfeff || (format === 'json' && c === 44)) continue;
        if (format === 'json' && c === 93) {
          closed = true;
          continue;
        }
        start = pos;
        elementLine = line;
        depth = 0;
      }
      if (c === 34) inStr = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) depth--;
      const endsNd = format === 'ndjson' && c === 10;
      const endsJson = format === 'json' && depth === 0 && (c === 125 || c === 93);
      const endsScalar = format === 'json' && depth === 0 && (c === 44 || c <= 32) && c !== 123;
      if (endsJson || endsNd || (endsScalar && pos > start)) {
        const text = buf.slice(start, endsJson ? pos + 1 : pos).trim();
        start = -1;
        if (text) {
          row++;
          yield* emit(parseElement(text, format === 'ndjson' ? elementLine : row));
        }
      } else if (depth < 0 && format === 'json') {
        throw new AppError('validation', 'IMPORT_JSON_INVALID', `Unbalanced brackets in the JSON array near element ${row + 1}.`);
      }
    }
    // Keep only the unfinished element in memory.
    if (start >= 0) {
      if (pos - start > MAX_RECORD_BYTES)
        throw new AppError(
          'payload_too_large',
          'IMPORT_RECORD_TOO_LARGE',
          `Element ${row + 1} is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MiB; the file was refused.`,
        );
      buf = buf.slice(start);
      pos -= start;
      start = 0;
    } else {
      buf = '';
      pos = 0;
    }
    if (final) {
      if (start >= 0 && buf.trim()) {
        if (format === 'ndjson') {
          row++;
          yield* emit(parseElement(buf.trim(), elementLine));
        } else {
          throw new AppError(
            'validation',
            'IMPORT_JSON_INVALID',
            `The JSON array ends in the middle of element ${row + 1} (truncated file?).`,
          );
        }
      } else if (format === 'json' && !closed) {
        throw new AppError(
          'validation',
          'IMPORT_JSON_INVALID',
          opened ? 'The JSON array is never closed with ] (truncated file?).' : 'The file is empty.',
        );
      }
    }
  };

  for await (const chunk of source) {
    buf += decoder.write(chunk);
    yield* scan(false);
  }
  buf += decoder.end();
  yield* scan(true);
  yield* flushHeader();
}
