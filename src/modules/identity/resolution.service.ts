import { isCurrencyCode, newId, sha256Hex, type Db, inTenant } from '../../platform/index.ts';
import { normalizeIdentifiers, profileStrength, strengthAfterActivity, type IdentitySettings } from './identity.core.ts';
import type { IdentityRepository, Q } from './identity.repository.ts';
import { chunkByKeys, mergeRounds, planBatch, type BatchInput, type MergeWrite } from './resolution.core.ts';
import type { ProfileActivity, ResolveInput } from './identity.types.ts';

export interface ResolutionDeps {
  db: Db;
  repo: IdentityRepository;
  settings: (tenantId: string) => Promise<IdentitySettings>;
}

/** Postgres errors worth retrying the whole resolution for (deadlock, serialization, a lost unique race). */
function isRetryable(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (code === '40P01' || code === '40001' || code === '23505') return true;
  }
  return false;
}

class ProfileMovedError extends Error {}

/**
 * Most blocking keys one transaction locks: advisory locks share PostgreSQL's lock table, sized for
 * max_locks_per_transaction (64) x max_connections, and past it every transaction fails ("out of shared memory").
 */
const MAX_KEYS_PER_TRANSACTION = 1000;

/** Runs `work` again (after a short random pause) while it fails with a retryable error, up to `attempts` times. */
async function withRetry<T>(attempts: number, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if ((err instanceof ProfileMovedError || isRetryable(err)) && attempt < attempts) {
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        continue;
      }
      throw err;
    }
  }
}

const hashIdentifier = (tenantId: string, value: string): string => sha256Hex(`${tenantId}|${value}`).slice(0, 32);

/**
 * Applies merges in order, by rounds of merges that share no profile (one statement per round). Returns the
 * survivors that received orders.
 */
export async function applyMerges(
  repo: IdentityRepository,
  q: Q,
  tenantId: string,
  merges: readonly MergeWrite[],
  meta: { rule: string; actor: string },
): Promise<Set<string>> {
  // Log ids are taken in event order (UUIDv7): the history lists one transaction's merges in the order they happened.
  const rows = merges.map((m) => ({
    id: newId(),
    survivorId: m.survivorId,
    mergedId: m.mergedId,
    rule: meta.rule,
    identifierType: m.via?.type ?? null,
    identifierHash: m.via ? hashIdentifier(tenantId, m.via.value) : null,
    eventRef: m.eventRef,
    actor: meta.actor,
  }));
  const withOrders = new Set<string>();
  for (const round of mergeRounds(rows)) for (const id of await repo.mergeMany(q, tenantId, round)) withOrders.add(id);
  return withOrders;
}

/** Merges `mergeIds` into `survivorId`, one log row each. Returns the survivors that received orders. */
export async function mergeInto(
  repo: IdentityRepository,
  q: Q,
  tenantId: string,
  survivorId: string,
  mergeIds: readonly string[],
  meta: { rule: string; actor: string; eventRef: string | null; via?: Record<string, { type: string; value: string }> },
): Promise<Set<string>> {
  return applyMerges(
    repo,
    q,
    tenantId,
    mergeIds.map((mergedId) => ({ survivorId, mergedId, via: meta.via?.[mergedId] ?? null, eventRef: meta.eventRef })),
    meta,
  );
}

/** Recomputes order aggregates and profile_strength (the formula lives in identity.core.ts). */
export async function refreshAggregates(
  repo: IdentityRepository,
  q: Q,
  tenantId: string,
  ids: readonly string[],
  orders = true,
): Promise<void> {
  const uniq = [...new Set(ids)];
  if (!uniq.length) return;
  if (orders) await repo.recomputeOrders(q, tenantId, uniq);
  const inputs = await repo.strengthInputs(q, tenantId, uniq);
  await repo.setStrength(
    q,
    tenantId,
    inputs.map((r) => ({
      id: r.id,
      strength: profileStrength({
        identifierConfidences: r.idents ?? [],
        totalOrders: r.totalOrders,
        eventCount: r.eventCount,
        channelCount: r.channelCount,
      }),
    })),
  );
}

/**
 * Identity resolution, set-wise per batch. The inputs that need more than a lookup run in ONE transaction: it
 * takes advisory locks on all their blocking keys at once, in sorted order (two batches touching one person
 * serialize on PostgreSQL without deadlocking; PGlite serializes all transactions anyway), reads their stored
 * identifiers, locks the profiles involved FOR UPDATE and checks they are still active, then plans the inputs in
 * order in memory (resolution.core.ts) and writes the outcome with a few set-based statements. The unique index
 * on (tenant, type, value) backs the locks up. A large batch is cut into runs of at most MAX_KEYS_PER_TRANSACTION
 * keys; a run that keeps losing races is resolved input by input. Inputs whose identifiers are all stored on one
 * profile (known visitors) take no lock: one lookup for the whole batch answers them.
 */
export function createResolutionService(deps: ResolutionDeps) {
  const { db, repo } = deps;

  async function resolveBatch(tenantId: string, inputs: readonly BatchInput[], settings: IdentitySettings): Promise<string[]> {
    const keys = [...new Set(inputs.flatMap((i) => i.identifiers.map((x) => x.matchKey)))];
    return inTenant(db, tenantId, async (tx) => {
      await repo.lockKeys(tx, tenantId, keys);
      const found = await repo.identifiersByMatchKeys(tx, tenantId, keys);
      const profileIds = [...new Set(found.map((f) => f.profileId))];
      const locked = await repo.lockProfiles(tx, tenantId, profileIds);
      if (locked.some((p) => p.status !== 'active') || locked.length !== profileIds.length) throw new ProfileMovedError();
      const stats = await repo.candidateStats(tx, tenantId, profileIds);
      const profiles = new Map(profileIds.map((id) => [id, { id, counts: {} as Record<string, number>, userIds: [] as string[] }]));
      for (const st of stats) {
        const p = profiles.get(st.profileId)!;
        p.counts[st.type] = st.n;
        if (st.type === 'user_id') p.userIds = st.userIds ?? [];
      }
      const plan = planBatch(inputs, { identifiers: found, profiles: [...profiles.values()] }, settings, newId);
      await repo.createProfiles(tx, tenantId, plan.newProfiles);
      await repo.patchTraits(tx, tenantId, plan.traitPatches);
      const gotOrders = await applyMerges(repo, tx, tenantId, plan.merges, { rule: 'auto:shared_identifier', actor: 'system:identity' });
      await repo.upsertIdentifiers(tx, tenantId, plan.identifiers);
      await repo.upsertReviews(
        tx,
        tenantId,
        plan.reviews.map((r) => ({ id: newId(), ...r })),
      );
      await repo.recomputeOrders(
        tx,
        tenantId,
        plan.survivors.filter((id) => gotOrders.has(id)),
      );
      await refreshAggregates(repo, tx, tenantId, plan.refresh, false);
      return plan.profileIds;
    });
  }

  /** A run of inputs in one transaction; when it keeps losing races, each input in its own (in order). */
  async function resolveRun(tenantId: string, inputs: readonly BatchInput[], settings: IdentitySettings): Promise<string[]> {
    try {
      return await withRetry(inputs.length > 1 ? 3 : 8, () => resolveBatch(tenantId, inputs, settings));
    } catch (err) {
      if (inputs.length === 1 || !(err instanceof ProfileMovedError || isRetryable(err))) throw err;
      const out: string[] = [];
      for (const input of inputs) out.push((await withRetry(8, () => resolveBatch(tenantId, [input], settings)))[0]!);
      return out;
    }
  }

  async function resolveSlow(tenantId: string, inputs: readonly BatchInput[], settings: IdentitySettings): Promise<string[]> {
    const out: string[] = [];
    for (const run of chunkByKeys(inputs, MAX_KEYS_PER_TRANSACTION)) out.push(...(await resolveRun(tenantId, run, settings)));
    return out;
  }

  return {
    /** See IdentityApi.resolveMany. */
    async resolveMany(tenantId: string, inputs: ResolveInput[]): Promise<(string | null)[]> {
      if (!inputs.length) return [];
      const settings = await deps.settings(tenantId);
      const normalized = inputs.map((i) => normalizeIdentifiers(i.identifiers, settings).identifiers);
      // Fast path: every identifier of the event is already stored, exactly, on one active profile.
      const allKeys = [...new Set(normalized.flat().map((i) => i.matchKey))];
      const known = await repo.identifiersByMatchKeys(db, tenantId, allKeys);
      const byKey = new Map<string, { profileId: string; exact: string }[]>();
      for (const k of known) {
        const list = byKey.get(k.matchKey) ?? [];
        list.push({ profileId: k.profileId, exact: `${k.type}\u0000${k.value}` });
        byKey.set(k.matchKey, list);
      }
      const out: (string | null)[] = new Array<string | null>(inputs.length).fill(null);
      const dirty = new Set<string>(); // keys a slow input of this batch may change
      const slow: number[] = [];
      for (let n = 0; n < inputs.length; n++) {
        const ids = normalized[n]!;
        if (!ids.length) continue;
        const owners = new Set<string>();
        let allExact = true;
        for (const i of ids) {
          if (dirty.has(i.matchKey)) allExact = false;
          const rows = byKey.get(i.matchKey) ?? [];
          if (!rows.some((r) => r.exact === `${i.type}\u0000${i.value}`)) allExact = false;
          for (const r of rows) owners.add(r.profileId);
        }
        const hasTraits = !!inputs[n]!.traits && Object.keys(inputs[n]!.traits!).length > 0;
        if (allExact && owners.size === 1 && !hasTraits) {
          out[n] = [...owners][0]!;
          continue;
        }
        slow.push(n);
        for (const i of ids) dirty.add(i.matchKey);
      }
      if (slow.length) {
        const resolved = await resolveSlow(
          tenantId,
          slow.map((n) => ({ ...inputs[n]!, identifiers: normalized[n]! })),
          settings,
        );
        slow.forEach((n, k) => (out[n] = resolved[k]!));
      }
      return out;
    },

    /**
     * See IdentityApi.recordActivity. The profiles are locked in id order first, as resolution locks them, so two
     * batches of one person's events wait for each other instead of deadlocking. Activity on a merged-away id is
     * counted on (and its events moved to) the survivor.
     */
    async recordActivity(tenantId: string, activity: ProfileActivity[]): Promise<void> {
      if (!activity.length) return;
      await withRetry(4, () => inTenant(db, tenantId, (tx) => recordActivityWithin(tx, tenantId, activity)));
    },

    /** See IdentityApi.recordActivityWithin: the same update inside the caller's unit of work (no retry of its own). */
    recordActivityWithin,
  };

  async function recordActivityWithin(tx: Q, tenantId: string, activity: readonly ProfileActivity[]): Promise<void> {
    if (!activity.length) return;
    const ids = [...new Set(activity.map((a) => a.profileId))];
    const locked = new Map((await repo.lockProfiles(tx, tenantId, ids)).map((p) => [p.id, p]));
    const survivors = new Map(ids.filter((id) => locked.get(id)?.status === 'active').map((id) => [id, id]));
    const moved = ids.filter((id) => !survivors.has(id));
    if (moved.length) {
      const found = await repo.survivorsOf(tx, tenantId, moved);
      await repo.relinkInteractions(
        tx,
        tenantId,
        [...found].map(([from, to]) => ({ from, to })),
      );
      for (const [from, to] of found) survivors.set(from, to);
    }
    const perProfile = new Map<string, { n: number; firstAt: Date; lastAt: Date; channels: Set<string> }>();
    const orders = new Map<
      string,
      { orderId: string; profileId: string; revenueMinor: bigint; refundedMinor: bigint; currency: string | null; at: Date }
    >();
    for (const a of activity) {
      const pid = survivors.get(a.profileId);
      if (!pid) continue; // unknown or erased profile
      const agg = perProfile.get(pid) ?? { n: 0, firstAt: a.occurredAt, lastAt: a.occurredAt, channels: new Set<string>() };
      agg.n++;
      if (a.occurredAt < agg.firstAt) agg.firstAt = a.occurredAt;
      if (a.occurredAt > agg.lastAt) agg.lastAt = a.occurredAt;
      agg.channels.add(a.channel.replace(/,/g, ' '));
      perProfile.set(pid, agg);
      const amount = a.revenueMinor != null && a.revenueMinor > 0n ? a.revenueMinor : 0n;
      if (a.type === 'purchase' || a.type === 'refund') {
        const orderId = a.orderId ?? `~${newId()}`;
        const o = orders.get(orderId) ?? {
          orderId,
          profileId: pid,
          revenueMinor: 0n,
          refundedMinor: 0n,
          // An order's currency only when ISO 4217 lists it: a vendor's unknown code carries no price anyway.
          currency: a.currency && isCurrencyCode(a.currency) ? a.currency.toUpperCase() : null,
          at: a.occurredAt,
        };
        // Line items of one order add up; the order counts once.
        if (a.type === 'purchase') o.revenueMinor += amount;
        else o.refundedMinor += amount;
        orders.set(orderId, o);
      }
    }
    await repo.upsertOrders(tx, tenantId, [...orders.values()]);
    const ordersNow = new Map(
      (await repo.recomputeOrders(tx, tenantId, [...new Set([...orders.values()].map((o) => o.profileId))])).map((r) => [
        r.id,
        r.totalOrders,
      ]),
    );
    // Strength follows from the stored one when only activity moved; otherwise it is recomputed in full below.
    const rows = [...perProfile].map(([profileId, a]) => {
      const p = locked.get(profileId);
      const strength =
        p?.status === 'active'
          ? strengthAfterActivity(
              p.profileStrength,
              { eventCount: p.eventCount, totalOrders: p.totalOrders, channelCount: p.channels.length },
              {
                eventCount: p.eventCount + a.n,
                totalOrders: ordersNow.get(profileId) ?? p.totalOrders,
                channelCount: new Set([...p.channels, ...a.channels]).size,
              },
            )
          : null;
      return { profileId, n: a.n, firstAt: a.firstAt, lastAt: a.lastAt, channels: [...a.channels], strength };
    });
    await repo.addActivity(tx, tenantId, rows);
    const refresh = rows.filter((r) => r.strength === null).map((r) => r.profileId);
    await refreshAggregates(repo, tx, tenantId, refresh, false);
  }
}
