/**
 * The one way tests reach the product's shared data (`../shared` beside the repository: seeds, fixtures,
 * datasets). A clone without it must still pass `npm test`: tests ask `sharedPath()` and skip, with a printed
 * reason, when it answers undefined. `LOUPE_SHARED_DIR` points elsewhere (CI uses a missing folder to prove
 * the suite passes without the data).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The shared data folder: `LOUPE_SHARED_DIR`, else `../shared` beside the repository. */
export const SHARED_DIR = path.resolve(process.env.LOUPE_SHARED_DIR || path.join(ROOT, '..', 'shared'));

/**
 * The absolute path of `relative` inside the shared data folder, or undefined (with a warning naming the
 * file) when it is absent. Use as `it.skipIf(!FILE)(...)`.
 */
export function sharedPath(relative: string): string | undefined {
  const full = path.join(SHARED_DIR, relative);
  if (fs.existsSync(full)) return full;
  console.warn(`[shared data] SKIPPED the tests that need ${relative}: ${full} not found (set LOUPE_SHARED_DIR to the shared folder).`);
  return undefined;
}
