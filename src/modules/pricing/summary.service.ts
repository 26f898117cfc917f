import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Db, type PlatformServices, inTenant } from '../../platform/index.ts';
import type { Q } from './pricing.repository.ts';
import { type GroupSummary, bestOfGroup, historySince, summarizeGroup, type SummaryOffer } from './summary.core.ts';
import { summaryRepository as repo } from './summary.repository.ts';

/** Groups recomputed per step (four statements each: lock, offers, the winners' history, upsert). */
const CHUNK = 500;

/** Recomputes (reads and core, no write) the summaries of groups already locked by the caller. */
async function compute(q: Q, tenantId: string, groupIds: readonly string[]): Promise<GroupSummary[]> {
  const byGroup = new Map<string, SummaryOffer[]>(groupIds.map((id) => [id, []]));
  for (const o of await repo.offersOfGroups(q, tenantId, groupIds)) byGroup.get(o.groupId)?.push(o);
  const bests = new Map<string, SummaryOffer>();
  for (const [id, offers] of byGroup) {
    const b = bestOfGroup(offers);
    if (b) bests.set(id, b);
  }
  const history = await repo.historiesSince(
    q,
    tenantId,
    [...bests.values()].map((b) => ({ offerId: b.id, since: historySince(b) })),
  );
  return [...byGroup].map(([id, offers]) => summarizeGroup(id, offers, history.get(bests.get(id)?.id ?? '') ?? []));
}

/**
 * The one door of the summary rows: recomputes, from scratch, the rows of the groups a write touched, inside that
 * write's transaction `q` and after its changes to offers (call it last: it locks the groups, and every writer takes
 * offer locks before group locks, so none waits on another in a cycle). Ids may repeat or be null (an offer without
 * a group touched none); unknown ids are skipped. Groups are locked in id order across all chunks.
 */
export async function refreshGroupSummaries(q: Q, tenantId: string, groupIds: Iterable<string | null>, now: Date): Promise<number> {
  const ids = [...new Set([...groupIds].filter((g): g is string => !!g))].sort();
  let n = 0;
  for (let s = 0; s < ids.length; s += CHUNK) {
    const locked = await repo.lockGroups(q, tenantId, ids.slice(s, s + CHUNK));
    if (!locked.length) continue;
    const rows = await compute(q, tenantId, locked);
    await repo.upsert(q, tenantId, rows, now);
    n += rows.length;
    if (s + CHUNK < ids.length) await nextTurn();
  }
  return n;
}

/** What the stored rows should be: a recompute from scratch that writes nothing (tests, checks). */
export async function recomputeGroupSummaries(q: Q, tenantId: string, groupIds: readonly string[]): Promise<GroupSummary[]> {
  return groupIds.length ? compute(q, tenantId, groupIds) : [];
}

/**
 * The scheduled backfill: summarizes every group that has no row yet (groups from before the table, or written by a
 * path that skipped the door), tenant by tenant in its own scope, CHUNK groups per transaction. Idempotent: a row a
 * writer made meanwhile is simply recomputed under the same lock. Returns how many groups it summarized.
 */
export async function backfillGroupSummaries(db: Db, clock: () => Date, log: PlatformServices['log']): Promise<number> {
  let done = 0;
  let after: { tenantId: string; groupId: string } | null = null;
  for (;;) {
    const page = await repo.unsummarized(db, after, CHUNK);
    if (!page.length) break;
    const byTenant = new Map<string, string[]>();
    for (const r of page) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r.groupId]);
    for (const [tenantId, ids] of byTenant) done += await inTenant(db, tenantId, (tx) => refreshGroupSummaries(tx, tenantId, ids, clock()));
    after = page[page.length - 1]!;
    await nextTurn();
  }
  if (done) log.info({ groups: done }, 'pricing: group summaries backfilled');
  return done;
}
