/**
 * The table-ownership scanner behind `test/ownership.test.ts`: which tables each module's source touches, and
 * which module defines each table. Pure functions over source text, so the scanner itself is unit-tested on
 * planted snippets.
 *
 * What counts as touching a table:
 * - a SQL identifier after FROM, JOIN, INTO, UPDATE, TABLE, TRUNCATE, ANALYZE, COPY or USING, or later in a
 *   comma-separated FROM list (`FROM a, b`), inside a string or template literal (comments are skipped; `${...}` expressions are masked, and CTE names defined in the same
 *   literal are not tables);
 * - a drizzle table object imported from another module's `*.tables.ts`.
 * Only names of known tables are reported, so English in messages ("from file") never counts. Names built at run
 * time (`sql.raw(name)`) cannot be seen: do not build table names at run time.
 */

/** One string or template literal: its text (template expressions replaced by `?`) and the line of each char. */
export interface Literal {
  text: string;
  lines: number[];
}

const REGEX_AFTER = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);
const REGEX_AFTER_WORDS = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|void|yield|await|throw|new|delete)$/;

/** Every string and template literal of a TypeScript source, with comments and regular expressions skipped. */
export function extractLiterals(src: string): Literal[] {
  const out: Literal[] = [];
  type Ctx = { k: 'code'; depth: number } | { k: 'tpl'; lit: Literal };
  const stack: Ctx[] = [{ k: 'code', depth: 0 }];
  let line = 1;
  let i = 0;
  let prev = '';
  let code = ''; // significant code chars read so far (for `return /re/`)
  const n = src.length;
  while (i < n) {
    const top = stack[stack.length - 1]!;
    const c = src[i]!;
    if (top.k === 'tpl') {
      if (c === '\\') {
        top.lit.text += src.slice(i, i + 2);
        top.lit.lines.push(line, line);
        if (src[i + 1] === '\n') line++;
        i += 2;
        continue;
      }
      if (c === '`') {
        stack.pop();
        out.push(top.lit);
        prev = '`';
        code += '`';
        i++;
        continue;
      }
      if (c === '$' && src[i + 1] === '{') {
        top.lit.text += '?';
        top.lit.lines.push(line);
        stack.push({ k: 'code', depth: 0 });
        i += 2;
        continue;
      }
      top.lit.text += c;
      top.lit.lines.push(line);
      if (c === '\n') line++;
      i++;
      continue;
    }
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      i += 2;
      while (i < n && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') line++;
        i++;
      }
      i += 2;
      continue;
    }
    if (c === "'" || c === '"') {
      const lit: Literal = { text: '', lines: [] };
      i++;
      while (i < n && src[i] !== c && src[i] !== '\n') {
        if (src[i] === '\\') {
          lit.text += src[i + 1] ?? '';
          lit.lines.push(line);
          i += 2;
          continue;
        }
        lit.text += src[i];
        lit.lines.push(line);
        i++;
      }
      i++;
      out.push(lit);
      prev = c;
      code += c;
      continue;
    }
    if (c === '`') {
      stack.push({ k: 'tpl', lit: { text: '', lines: [] } });
      i++;
      continue;
    }
    if (c === '/' && (REGEX_AFTER.has(prev) || REGEX_AFTER_WORDS.test(code))) {
      i++;
      let inClass = false;
      while (i < n && src[i] !== '\n') {
        const r = src[i];
        if (r === '\\') i++;
        else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        i++;
      }
      i++;
      prev = '/';
      code += '/';
      continue;
    }
    if (c === '{') top.depth++;
    if (c === '}') {
      if (stack.length > 1 && top.depth === 0) {
        stack.pop();
        i++;
        continue;
      }
      top.depth--;
    }
    if (!/\s/.test(c)) {
      prev = c;
      code = (code + c).slice(-20);
    } else code = `${code} `.slice(-20);
    i++;
  }
  return out;
}

const TABLE_REF =
  /\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|ANALYZE|COPY|USING)\s+(?:ONLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:"?public"?\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?/gi;
const FROM_KEYWORD = /\bFROM\s/gi;
const CLAUSE_END =
  /^(?:WHERE|GROUP|ORDER|LIMIT|HAVING|WINDOW|UNION|EXCEPT|INTERSECT|RETURNING|ON|SET|JOIN|LEFT|RIGHT|INNER|FULL|CROSS|NATURAL|FOR|SELECT|FROM|AND|OR)\b/i;
const LIST_ITEM = /^\s*(?:ONLY\s+)?(?:"?public"?\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?(?=\s|,|$)/;

/** The items after the first of a FROM list (`FROM a x, b y, unnest(...) z`): each item's text and offset. */
function fromListTail(text: string, start: number): { item: string; at: number }[] {
  const out: { item: string; at: number }[] = [];
  let depth = 0;
  let itemStart = -1;
  for (let k = start; k <= text.length; k++) {
    const ch = text[k];
    if (ch === undefined || ch === ';' || (depth === 0 && ch === ')')) break;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /[A-Za-z]/.test(ch) && !/[\w$]/.test(text[k - 1] ?? ' ') && CLAUSE_END.test(text.slice(k, k + 12))) break;
    else if (depth === 0 && ch === ',') {
      if (itemStart >= 0) out.push({ item: text.slice(itemStart, k), at: itemStart });
      itemStart = k + 1;
    }
  }
  if (itemStart >= 0) {
    let end = itemStart;
    while (end < text.length && !/[;,)]/.test(text[end]!)) end++;
    out.push({ item: text.slice(itemStart, end), at: itemStart });
  }
  return out;
}

const CTE_NAME = /\b([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(/gi;

export interface TableRef {
  table: string;
  line: number;
}

/** Known tables named in SQL inside the literals of `src`, with their lines. */
export function sqlTableRefs(src: string, known: ReadonlySet<string>): TableRef[] {
  const refs: TableRef[] = [];
  for (const lit of extractLiterals(src)) {
    const ctes = new Set<string>();
    for (const m of lit.text.matchAll(CTE_NAME)) ctes.add(m[1]!.toLowerCase());
    for (const m of lit.text.matchAll(TABLE_REF)) {
      const table = m[1]!.toLowerCase();
      if (!known.has(table) || ctes.has(table)) continue;
      refs.push({ table, line: lit.lines[m.index! + m[0].length - 1] ?? lit.lines[m.index!] ?? 0 });
    }
    for (const m of lit.text.matchAll(FROM_KEYWORD)) {
      for (const { item, at } of fromListTail(lit.text, m.index! + m[0].length)) {
        const name = LIST_ITEM.exec(item);
        const table = name?.[1]?.toLowerCase();
        if (!table || !known.has(table) || ctes.has(table)) continue;
        refs.push({ table, line: lit.lines[at + name![0].length - 1] ?? 0 });
      }
    }
  }
  return refs.sort((a, b) => a.line - b.line);
}

/** `pgTable('name', ...)` definitions in a `*.tables.ts` source: drizzle export name → SQL table name. */
export function definedTables(src: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of src.matchAll(/export\s+const\s+(\w+)\s*=\s*pgTable\(\s*['"]([A-Za-z0-9_]+)['"]/g)) out.set(m[1]!, m[2]!);
  return out;
}

export interface TablesImport {
  /** The imported drizzle export names. */
  names: string[];
  /** The import specifier (a path ending in `.tables.ts`). */
  from: string;
  line: number;
}

/** Imports of drizzle table objects: `import { items } from '../catalog/catalog.tables.ts'`. */
export function tablesImports(src: string): TablesImport[] {
  const out: TablesImport[] = [];
  for (const m of src.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"]([^'"]+\.tables(?:\.ts|\.js)?)['"]/g)) {
    const names = m[1]!
      .split(',')
      .map((s) =>
        s
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!
          .trim(),
      )
      .filter(Boolean);
    out.push({ names, from: m[2]!, line: src.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** The ownership section of ARCHITECTURE.md: rows `| \`table\` | module | ... |` after the "Table ownership" heading. */
export function documentedOwners(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const start = markdown.search(/^## Table ownership/m);
  if (start < 0) return out;
  const rest = markdown.slice(start);
  const end = rest.slice(3).search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end + 3);
  for (const m of section.matchAll(/^\|\s*`([A-Za-z0-9_.]+)`\s*\|\s*`?([a-z-]+)`?\s*\|/gm)) out.set(m[1]!, m[2]!);
  return out;
}

export interface Violation {
  module: string;
  file: string;
  line: number;
  table: string;
  owner: string;
  /** The trimmed source line: what `PENDING_RECS`-style allowances match on (stable when lines above move). */
  excerpt: string;
}

export function formatViolation(v: Violation): string {
  return `${v.module}: ${v.file}:${v.line} touches \`${v.table}\` (owned by ${v.owner})`;
}

/**
 * Violations of one source file of `module`: SQL on tables another module owns, and drizzle tables imported
 * from another module's `*.tables.ts` (`tablesOwner` resolves an import specifier to its defining module and
 * table names, or undefined when it is not a known tables file).
 */
export function fileViolations(
  module: string,
  file: string,
  src: string,
  owners: ReadonlyMap<string, string>,
  tablesOwner: (specifier: string) => { module: string; tables: ReadonlyMap<string, string> } | undefined,
): Violation[] {
  const out: Violation[] = [];
  const known = new Set(owners.keys());
  const lines = src.split('\n');
  const excerpt = (line: number) => (lines[line - 1] ?? '').trim();
  for (const r of sqlTableRefs(src, known)) {
    const owner = owners.get(r.table)!;
    if (owner !== module) out.push({ module, file, line: r.line, table: r.table, owner, excerpt: excerpt(r.line) });
  }
  for (const imp of tablesImports(src)) {
    const def = tablesOwner(imp.from);
    if (!def || def.module === module) continue;
    for (const name of imp.names) {
      const table = def.tables.get(name);
      if (table) out.push({ module, file, line: imp.line, table, owner: def.module, excerpt: excerpt(imp.line) });
    }
  }
  return out;
}
