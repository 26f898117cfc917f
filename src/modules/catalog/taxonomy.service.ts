import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Q, AppError, validation } from '../../platform/index.ts';
import { parseTaxonomy, type TaxonomyNode } from './taxonomy.core.ts';
import type { TaxonomyRepository } from './taxonomy.repository.ts';

/** Google's full en-US taxonomy (version 2021-09-21, 5,595 categories), shipped with the app: see data/README.md. */
export const BUNDLED_TAXONOMY_PATH = fileURLToPath(new URL('./data/taxonomy-with-ids.en-US.txt', import.meta.url));

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
  /** Parsed once per process: the bundled file never changes while the app runs. */
  let bundled: Promise<TaxonomyNode[]> | undefined;
  const bundledNodes = () => (bundled ??= fs.readFile(BUNDLED_TAXONOMY_PATH, 'utf8').then((text) => parseTaxonomy(text).nodes));
  return {
    /** Loads (or reloads) a taxonomy file; existing ids are updated in place. */
    async loadFrom(source: string): Promise<{ loaded: number; errors: { line: number; message: string }[] }> {
      const parsed = parseTaxonomy(await readTaxonomySource(source));
      const loaded = await deps.repo.load(db, parsed.nodes);
      return { loaded, errors: parsed.errors };
    },
    /**
     * Loads the bundled taxonomy when the table holds fewer categories than it (a fresh install, or one that
     * carries the old 70-line sample). Idempotent: an upsert by Google id, so concurrent callers converge.
     */
    async ensureLoaded(): Promise<void> {
      const nodes = await bundledNodes();
      if ((await deps.repo.count(db)) < nodes.length) await deps.repo.load(db, nodes);
    },
  };
}
export type TaxonomyService = ReturnType<typeof createTaxonomyService>;
