/**
 * Google product taxonomy, `taxonomy-with-ids.<locale>.txt` format: one `<id> - <path>` per line, path
 * segments separated by ' > ', comment lines starting with '#'. Pure parsing, no I/O.
 */
import { joinCategoryPath, splitCategoryPath } from './catalog.core.ts';

export interface TaxonomyNode {
  id: number;
  name: string;
  path: string;
  /** The path of the parent node ('' for top level). */
  parentPath: string;
  depth: number;
}

export interface TaxonomyParse {
  nodes: TaxonomyNode[];
  errors: { line: number; message: string }[];
}

/** Parses the whole file text. Bad lines are reported with their 1-based number, never thrown. */
export function parseTaxonomy(text: string): TaxonomyParse {
  const nodes: TaxonomyNode[] = [];
  const errors: { line: number; message: string }[] = [];
  const seen = new Set<number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\d{1,9})\s+-\s+(.+)$/.exec(line);
    if (!m) {
      errors.push({ line: i + 1, message: 'expected "<id> - <path>"' });
      return;
    }
    const id = Number(m[1]);
    const segs = splitCategoryPath(m[2]!);
    if (!segs.length) {
      errors.push({ line: i + 1, message: 'empty path' });
      return;
    }
    if (seen.has(id)) {
      errors.push({ line: i + 1, message: `duplicate id ${id}` });
      return;
    }
    seen.add(id);
    nodes.push({
      id,
      name: segs[segs.length - 1]!,
      path: joinCategoryPath(segs),
      parentPath: joinCategoryPath(segs.slice(0, -1)),
      depth: segs.length - 1,
    });
  });
  return { nodes, errors };
}
