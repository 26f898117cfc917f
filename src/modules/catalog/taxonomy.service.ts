import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Q, AppError, validation } from '../../platform/index.ts';
import { parseTaxonomy } from './taxonomy.core.ts';
import type { TaxonomyRepository } from './taxonomy.repository.ts';

/** The committed sample (a subset of Google's en-US file with real ids). */
export const SAMPLE_TAXONOMY_PATH = fileURLToPath(new URL('./data/google-taxonomy-sample.en-US.txt', import.meta.url));

/** Largest taxonomy file accepted (the full en-US file is about 0.7 MB). */
const MAX_BYTES = 20 * 1024 * 1024;

/** Reads a taxonomy file from a local path or an http(s) URL. */
export async function readTaxonomySource(source: string, fetchImpl: typeof fetch = fetch): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const res = await fetchImpl(source, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new AppError('unavailable', 'TAXONOMY_FETCH_FAILED', `Fetching the taxonomy answered HTTP ${res.status}.`);
    const text = await res.text();
    if (text.length > MAX_BYTES) throw validation('TAXONOMY_TOO_LARGE', 'The taxonomy file is larger than 20 MB.');
    return text;
  }
  return fs.readFile(source, 'utf8');
}

export function createTaxonomyService(deps: { db: Q; repo: TaxonomyRepository }) {
  const { db } = deps;
  return {
    /** Loads (or reloads) a taxonomy file; existing ids are updated in place. */
    async loadFrom(source: string): Promise<{ loaded: number; errors: { line: number; message: string }[] }> {
      const parsed = parseTaxonomy(await readTaxonomySource(source));
      const loaded = await deps.repo.load(db, parsed.nodes);
      return { loaded, errors: parsed.errors };
    },
    /** Loads the committed sample when the table is empty (first use on a fresh install). */
    async ensureLoaded(): Promise<void> {
      if ((await deps.repo.count(db)) === 0) await deps.repo.load(db, parseTaxonomy(await fs.readFile(SAMPLE_TAXONOMY_PATH, 'utf8')).nodes);
    },
  };
}
export type TaxonomyService = ReturnType<typeof createTaxonomyService>;
