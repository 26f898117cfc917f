/**
 * Writing a batch so that one bad row never fails the others: the batch is written whole; when the
 * database refuses it for a reason that lies in the data (SQLSTATE classes 22 data exception, 23 integrity,
 * 54 limit exceeded, or a conversion error in the driver), it is split in halves and each half retried,
 * down to the single rows that fail. One bad row in 5,000 costs about 2·log2(5000) ≈ 26 writes, not 5,000.
 * Errors that do not lie in the data (the database is down, the run was cancelled) are thrown as they are.
 */

/** The SQLSTATE of a database error (looked up through `cause` chains, as drivers and drizzle wrap them). */
export function sqlStateOf(err: unknown): string | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

/** An event the write door refused as invalid (its message never quotes the row's bytes). */
function isRefusedEvent(err: unknown): err is { kind: 'validation'; code: string; message: string } {
  return (
    !!err &&
    typeof err === 'object' &&
    (err as { kind?: unknown }).kind === 'validation' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}

/** True when the error comes from the rows written rather than from the database or the process. */
export function isRowDataError(err: unknown): boolean {
  // The events write door refuses an unstorable event (unsafe text, an amount out of range) before any SQL.
  if (isRefusedEvent(err)) return true;
  const state = sqlStateOf(err);
  if (state) return /^(22|23|54)/.test(state);
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RangeError || e instanceof TypeError) return true;
  }
  return false;
}

/**
 * Why a single row could not be stored, for the import report. Never the driver's message: it may quote
 * the row's bytes.
 */
export function storeFailureReason(err: unknown): { code: string; reason: string } {
  if (isRefusedEvent(err)) return { code: err.code, reason: err.message };
  const state = sqlStateOf(err);
  if (state === '22P05' || state === '22021')
    return { code: 'UNSTORABLE_TEXT', reason: 'the row holds characters the database cannot store (save the file as UTF-8 text)' };
  if (state === '22003' || state === '22008' || (!state && isRowDataError(err)))
    return { code: 'VALUE_OUT_OF_RANGE', reason: 'a number or a date in the row is out of the range that can be stored' };
  if (state === '22001' || state?.startsWith('54')) return { code: 'VALUE_TOO_LARGE', reason: 'a value in the row is too large to store' };
  return { code: 'ROW_NOT_STORED', reason: `the database refused the row (SQLSTATE ${state ?? 'unknown'})` };
}

/**
 * Writes `rows` with `write`, isolating the rows the database refuses. Returns those rows with the error
 * each one got alone; `write` is called on sub-lists only after a data error, so it must be idempotent for
 * the rows of a refused call (a refused call commits nothing: each write is one statement or transaction).
 */
export async function writeIsolatingFailures<T>(
  rows: readonly T[],
  write: (part: readonly T[]) => Promise<void>,
): Promise<{ row: T; error: unknown }[]> {
  if (!rows.length) return [];
  try {
    await write(rows);
    return [];
  } catch (err) {
    if (!isRowDataError(err)) throw err;
    if (rows.length === 1) return [{ row: rows[0]!, error: err }];
    const mid = rows.length >> 1;
    const first = await writeIsolatingFailures(rows.slice(0, mid), write);
    const second = await writeIsolatingFailures(rows.slice(mid), write);
    return [...first, ...second];
  }
}
