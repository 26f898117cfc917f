/**
 * Small slices of the UCI Online Retail dataset (../shared/datasets/online-retail, CC BY 4.0, Chen 2015) for
 * tests: the first lines of the real file, read by streaming and stopping early (never the whole file).
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import { sharedPath } from './shared-data.ts';

export const ONLINE_RETAIL = sharedPath('datasets/online-retail/online_retail.csv.gz');

/** The header line and the first `rows` data lines, as in the file (quoted CSV). */
export async function onlineRetailHead(rows: number): Promise<string[]> {
  if (!ONLINE_RETAIL) throw new Error('the Online Retail dataset is absent (guard the test with ONLINE_RETAIL)');
  const input = fs.createReadStream(ONLINE_RETAIL);
  const lines = readline.createInterface({ input: input.pipe(createGunzip()), crlfDelay: Infinity });
  const out: string[] = [];
  try {
    for await (const line of lines) {
      out.push(line);
      if (out.length > rows) break;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  return out;
}

/** A product catalog made from the slice: one row per StockCode, with the dataset's own column names. */
export function catalogOf(lines: readonly string[]): string {
  const seen = new Set<string>();
  const out = ['"StockCode","Description","UnitPrice"'];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const code = cells[1]!;
    if (seen.has(code) || cells.length !== 8) continue;
    seen.add(code);
    out.push([code, cells[2], cells[5]].join(','));
  }
  return `${out.join('\n')}\n`;
}
