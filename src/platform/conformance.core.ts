/**
 * The Citus conformance check (issue 17), pure: given the `EXPLAIN (FORMAT JSON)` of a statement on a database whose
 * tenant tables are hash-partitioned by `tenant_id` (`conformance.repository.ts` builds one), which partitions the
 * plan keeps, and whether the statement is a single-tenant one.
 *
 * A tenant's rows of every table sit in partitions with the same remainder (same modulus, same hash of the same
 * tenant id), as Citus keeps a tenant's shards of co-located tables on one node. A statement conforms when all the
 * partitions it keeps share ONE remainder after planning: what Citus's router planner needs to send it to one node.
 * Partitions removed only when the executor starts (`Subplans Removed`: the tenant came from a parameter the planner
 * could not see, a stable function, a sub-select) do not count as pruned: Citus would send that statement to every
 * shard. Rows an INSERT writes are routed by their own tenant_id at execution: the plan shows no partition for them,
 * so an INSERT is judged by what it reads (its SELECT, its ON CONFLICT target is the row's own partition).
 */

/** Where a partition belongs: its parent table and its remainder. */
export interface PartitionOf {
  parent: string;
  remainder: number;
}

export interface PlanFacts {
  /** Partitioned tables the plan reads or writes, each with the remainders of the partitions it keeps. */
  tables: Map<string, Set<number>>;
  /** Unpartitioned tables the plan names (reference tables, and tenant tables whose keys lack tenant_id). */
  plainTables: Set<string>;
  /** The sum of `Subplans Removed` over the plan: partitions pruned only at execution. */
  prunedAtExecution: number;
}

/** Reads the relations of a plan (`EXPLAIN (FORMAT JSON)`'s answer: `[{ Plan: {...} }]`, or one such object). */
export function planFacts(explain: unknown, partitions: ReadonlyMap<string, PartitionOf>, partitioned: ReadonlySet<string>): PlanFacts {
  const facts: PlanFacts = { tables: new Map(), plainTables: new Set(), prunedAtExecution: 0 };
  const touch = (table: string) => {
    let set = facts.tables.get(table);
    if (!set) facts.tables.set(table, (set = new Set()));
    return set;
  };
  const visit = (node: unknown, depth: number) => {
    if (depth > 200 || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, depth + 1);
      return;
    }
    const o = node as Record<string, unknown>;
    const rel = o['Relation Name'];
    if (typeof rel === 'string') {
      const p = partitions.get(rel);
      if (p) touch(p.parent).add(p.remainder);
      else if (partitioned.has(rel)) touch(rel);
      else facts.plainTables.add(rel);
    }
    const removed = o['Subplans Removed'];
    if (typeof removed === 'number') facts.prunedAtExecution += removed;
    if ('Plan' in o) visit(o.Plan, depth + 1);
    if ('Plans' in o) visit(o.Plans, depth + 1);
  };
  visit(explain, 0);
  return facts;
}

export type Verdict =
  | { kind: 'global' }
  | { kind: 'single' }
  | { kind: 'fan_out' /** Per partitioned table, how many partitions the plan keeps; and why it fans out. */; detail: string };

/**
 * `global`: no partitioned table (platform tables, reference tables); `single`: every kept partition has one
 * remainder and none is pruned only at execution; `fan_out` otherwise.
 */
export function verdictOf(f: PlanFacts): Verdict {
  if (f.tables.size === 0) return { kind: 'global' };
  const remainders = new Set<number>();
  for (const set of f.tables.values()) for (const r of set) remainders.add(r);
  if (remainders.size <= 1 && f.prunedAtExecution === 0) return { kind: 'single' };
  const parts = [...f.tables].sort(([a], [b]) => a.localeCompare(b)).map(([t, s]) => `${t}: ${s.size} partitions`);
  if (f.prunedAtExecution > 0) parts.push(`${f.prunedAtExecution} pruned only at execution`);
  if (remainders.size > 1 && [...f.tables.values()].every((s) => s.size <= 1)) parts.push('one partition each, of different tenants');
  return { kind: 'fan_out', detail: parts.join('; ') };
}

/** Whether a captured statement is one the check EXPLAINs: one DML statement (no session commands, no DDL). */
export function isCheckable(text: string, values: readonly unknown[] | undefined): boolean {
  if (!/^\s*(?:\(\s*)*(?:SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|TABLE|VALUES)\b/i.test(text)) return false;
  // Several statements in one simple-protocol message (`SET ROLE ...; SELECT set_config(...)`): session settings.
  if (!values?.length && /;\s*\S/.test(text)) return false;
  return true;
}

/** A fan-out that is meant: platform work across tenants (job claiming, sweeps, platform admin). */
export interface IntendedFanOut {
  /** Matched against the statement's text with its whitespace folded (runs of spaces and newlines to one space, trimmed). */
  pattern: RegExp;
  reason: string;
}

export interface CheckedStatement {
  text: string;
  verdict: Verdict;
  /** Partitioned tables it touches. */
  tables: string[];
}

export interface StatementGroup {
  text: string;
  /** How many times it was captured and checked. */
  count: number;
  tables: string[];
  detail: string;
  /** Set when an intended fan-out matched. */
  intended?: string;
}

export interface ConformanceReport {
  /** Checked statements (DML run against the partitioned database), counted per execution. */
  checked: number;
  /** Of those, the ones touching a partitioned (tenant) table. */
  tenant: number;
  /** Tenant statements that keep one partition. */
  single: number;
  /** Fan-outs listed as intended (platform work), per distinct text. */
  intended: StatementGroup[];
  /** Fan-outs that are not: the failures, per distinct text. */
  offenders: StatementGroup[];
  /** single / (tenant - intended), 1 when there is nothing to check. */
  singleShare: number;
}

/** Folds checked statements into the report: counts, intended fan-outs and offenders grouped by text. */
export function conformanceReport(checked: readonly CheckedStatement[], intended: readonly IntendedFanOut[]): ConformanceReport {
  let tenant = 0;
  let single = 0;
  let intendedCount = 0;
  const groups = new Map<string, StatementGroup>();
  for (const c of checked) {
    if (c.verdict.kind === 'global') continue;
    tenant++;
    if (c.verdict.kind === 'single') {
      single++;
      continue;
    }
    const folded = c.text.replace(/\s+/g, ' ').trim();
    const why = intended.find((i) => i.pattern.test(folded));
    if (why) intendedCount++;
    let g = groups.get(c.text);
    if (!g) {
      g = { text: c.text, count: 0, tables: c.tables, detail: c.verdict.detail, ...(why ? { intended: why.reason } : {}) };
      groups.set(c.text, g);
    }
    g.count++;
  }
  const all = [...groups.values()].sort((a, b) => b.count - a.count || a.text.localeCompare(b.text));
  const judged = tenant - intendedCount;
  return {
    checked: checked.length,
    tenant,
    single,
    intended: all.filter((g) => g.intended !== undefined),
    offenders: all.filter((g) => g.intended === undefined),
    singleShare: judged === 0 ? 1 : single / judged,
  };
}
