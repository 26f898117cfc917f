import {
  AppError,
  type Db,
  type PlatformServices,
  type TenantContext,
  isUuid,
  newId,
  notFound,
  validation,
  inTenant,
} from '../../platform/index.ts';
import { pricingRepository as repo } from './pricing.repository.ts';
import { refreshGroupSummaries } from './summary.service.ts';

/**
 * Stores, offers and match groups: the aggregator's catalog of other retailers' listings. `offersChanged` is told
 * after every committed change of which offers a group holds (merge, split, revert, review decision): the best
 * offers of its items may have changed. Each such change refreshes both groups' summary rows in its transaction.
 */
export function createPricingService({
  platform,
  offersChanged = () => {},
}: {
  platform: PlatformServices;
  offersChanged?: (tenantId: string) => void;
}) {
  const { db, clock } = platform;
  /** A transaction that moves offers between groups; listeners are told once it committed. */
  const regroup = async <T>(tenantId: string, fn: (tx: Db) => Promise<T>): Promise<T> => {
    const out = await inTenant(db, tenantId, fn);
    offersChanged(tenantId);
    return out;
  };
  const cursorOk = (c: string | undefined) => {
    if (c !== undefined && !isUuid(c))
      throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
  };
  /** A filter id that is not a uuid names nothing: the answer is empty, like another tenant's id. */
  const idFilter = (id: string | undefined) => (id === undefined ? undefined : isUuid(id) ? id : '00000000-0000-0000-0000-000000000000');

  return {
    async createStore(
      ctx: TenantContext,
      s: { name: string; network: string; networkMerchantId: string | null; terms: Record<string, unknown> },
    ) {
      const row = await repo.insertStore(db, ctx.tenantId, s, clock());
      if (!row) throw new AppError('conflict', 'PRICING_STORE_EXISTS', `A store named "${s.name.slice(0, 200)}" already exists.`);
      return (await repo.listStores(db, ctx.tenantId, row.id))[0]!;
    },
    listStores: (ctx: TenantContext) => repo.listStores(db, ctx.tenantId),
    async getStore(ctx: TenantContext, id: string) {
      const [row] = isUuid(id) ? await repo.listStores(db, ctx.tenantId, id) : [];
      if (!row) throw notFound('PRICING_STORE_NOT_FOUND', 'The store');
      return row;
    },
    listOffers(
      ctx: TenantContext,
      f: {
        search?: string | undefined;
        storeId?: string | undefined;
        groupId?: string | undefined;
        after?: string | undefined;
        limit: number;
      },
    ) {
      cursorOk(f.after);
      return repo.listOffers(db, ctx.tenantId, { ...f, storeId: idFilter(f.storeId), groupId: idFilter(f.groupId) });
    },
    listGroups(ctx: TenantContext, f: { search?: string | undefined; after?: string | undefined; limit: number }) {
      cursorOk(f.after);
      return repo.listGroups(db, ctx.tenantId, f);
    },
    /**
     * Operator merge: every offer of `fromId` moves into `intoId` (whose id stays). Logged; revert moves them back.
     * Another tenant's group answers 404 like an unknown one.
     */
    async merge(ctx: TenantContext, intoId: string, fromId: string) {
      if (intoId === fromId)
        throw validation('PRICING_MERGE_SELF', 'A group cannot be merged into itself.', [
          { field: 'from_group_id', message: 'same as the target' },
        ]);
      return regroup(ctx.tenantId, async (tx) => {
        for (const id of [intoId, fromId]) {
          const [g] = isUuid(id) ? await repo.listGroups(tx, ctx.tenantId, { id, limit: 1 }) : [];
          if (!g) throw notFound('PRICING_GROUP_NOT_FOUND', 'The match group');
        }
        const moved = await repo.moveOffers(tx, ctx.tenantId, fromId, intoId, null);
        await refreshGroupSummaries(tx, ctx.tenantId, [fromId, intoId], clock());
        const [logId] = await repo.insertLog(
          tx,
          ctx.tenantId,
          [
            {
              action: 'merge',
              fromGroupId: fromId,
              toGroupId: intoId,
              offerIds: moved,
              reason: 'operator merge',
              actorType: ctx.actor.type,
              actorId: ctx.actor.id,
            },
          ],
          clock(),
        );
        return { moved, logId: logId! };
      });
    },

    /**
     * Operator pin: the learned matcher never moves an offer into a pinned group unasked (its pairs wait in the review
     * queue instead); identifiers (the same GTIN, brand + MPN) still place offers in it. Unpinning lifts that. Logged.
     */
    async pin(ctx: TenantContext, groupId: string, pinned: boolean) {
      return inTenant(db, ctx.tenantId, async (tx) => {
        if (!isUuid(groupId) || !(await repo.setPinned(tx, ctx.tenantId, groupId, pinned, clock())))
          throw notFound('PRICING_GROUP_NOT_FOUND', 'The match group');
        await repo.insertLog(
          tx,
          ctx.tenantId,
          [
            {
              action: pinned ? 'pin' : 'unpin',
              fromGroupId: null,
              toGroupId: groupId,
              offerIds: [],
              reason: pinned ? 'operator pin' : 'operator unpin',
              actorType: ctx.actor.type,
              actorId: ctx.actor.id,
            },
          ],
          clock(),
        );
        const [g] = await repo.listGroups(tx, ctx.tenantId, { id: groupId, limit: 1 });
        return g!;
      });
    },

    /** Operator split: the given offers of the group move to a new group (a new stable id). Logged; revert moves them back. */
    async split(ctx: TenantContext, groupId: string, offerIds: string[]) {
      return regroup(ctx.tenantId, async (tx) => {
        const [g] = isUuid(groupId) ? await repo.listGroups(tx, ctx.tenantId, { id: groupId, limit: 1 }) : [];
        if (!g) throw notFound('PRICING_GROUP_NOT_FOUND', 'The match group');
        const ids = offerIds.filter(isUuid);
        const newGroupId = newId();
        await repo.insertGroups(
          tx,
          ctx.tenantId,
          [{ id: newGroupId, name: g.canonicalName, brandId: null, gtin: null, mpn: null }],
          clock(),
        );
        const moved = await repo.moveOffers(tx, ctx.tenantId, groupId, newGroupId, ids);
        if (moved.length !== offerIds.length)
          throw validation('PRICING_SPLIT_OFFERS', 'Every offer to split out must belong to this group.', [
            { field: 'offer_ids', message: `${offerIds.length - moved.length} are not offers of this group` },
          ]);
        await refreshGroupSummaries(tx, ctx.tenantId, [groupId, newGroupId], clock());
        const [logId] = await repo.insertLog(
          tx,
          ctx.tenantId,
          [
            {
              action: 'split',
              fromGroupId: groupId,
              toGroupId: newGroupId,
              offerIds: moved,
              reason: 'operator split',
              actorType: ctx.actor.type,
              actorId: ctx.actor.id,
            },
          ],
          clock(),
        );
        return { newGroupId, moved, logId: logId! };
      });
    },

    /** Undoes a merge or split: its offers still in the target group go back to the source group. */
    async revert(ctx: TenantContext, logId: string) {
      return regroup(ctx.tenantId, async (tx) => {
        const e = isUuid(logId) ? await repo.getLogEntry(tx, ctx.tenantId, logId) : undefined;
        if (!e) throw notFound('PRICING_MATCH_LOG_NOT_FOUND', 'The match log entry');
        if (e.revertedAt || !e.fromGroupId || (e.action !== 'merge' && e.action !== 'split'))
          throw new AppError('conflict', 'PRICING_NOT_REVERTIBLE', 'Only a merge or split that has not been reverted yet can be reverted.');
        const moved = await repo.moveOffers(tx, ctx.tenantId, e.toGroupId, e.fromGroupId, e.offerIds);
        await refreshGroupSummaries(tx, ctx.tenantId, [e.toGroupId, e.fromGroupId], clock());
        await repo.markReverted(tx, ctx.tenantId, e.id, clock());
        return { moved };
      });
    },

    listReviews(ctx: TenantContext, f: { status?: string | undefined; after?: string | undefined; limit: number }) {
      cursorOk(f.after);
      return repo.listReviews(db, ctx.tenantId, f);
    },

    /**
     * Decides a queued pair. Accept moves the offer into the candidate group (logged as a merge, revertible) and
     * closes the offer's other pending pairs; reject only records the decision. A pair already decided answers
     * 409 PRICING_REVIEW_DECIDED (two operators accepting at once: one wins, the row lock orders them); another
     * tenant's pair answers 404. Decisions on one offer's pairs are ordered by the offer's row lock (taken before the
     * pair's), so two accepts of its two pairs never deadlock: the second waits, then finds its pair closed (409).
     */
    async decideReview(ctx: TenantContext, id: string, decision: 'accepted' | 'rejected') {
      return regroup(ctx.tenantId, async (tx) => {
        const r = isUuid(id) ? await repo.lockReviewForDecision(tx, ctx.tenantId, id) : undefined;
        if (!r) throw notFound('PRICING_REVIEW_NOT_FOUND', 'The review item');
        if (r.status !== 'pending')
          throw new AppError('conflict', 'PRICING_REVIEW_DECIDED', `This pair was already ${r.status}: reload the review queue.`);
        const now = clock();
        let moved: string[] = [];
        let logId: string | null = null;
        if (decision === 'accepted') {
          const cur = await repo.offerGroup(tx, ctx.tenantId, r.offerId);
          if (cur?.matchGroupId && cur.matchGroupId !== r.candidateGroupId) {
            moved = await repo.moveOffers(tx, ctx.tenantId, cur.matchGroupId, r.candidateGroupId, [r.offerId]);
            await refreshGroupSummaries(tx, ctx.tenantId, [cur.matchGroupId, r.candidateGroupId], now);
            [logId = null] = await repo.insertLog(
              tx,
              ctx.tenantId,
              [
                {
                  action: 'merge',
                  fromGroupId: cur.matchGroupId,
                  toGroupId: r.candidateGroupId,
                  offerIds: moved,
                  reason: 'review queue: accepted as the same product',
                  actorType: ctx.actor.type,
                  actorId: ctx.actor.id,
                },
              ],
              now,
            );
          }
          await repo.rejectOtherReviews(tx, ctx.tenantId, r.offerId, r.id, ctx.actor, now);
        }
        await repo.decideReview(tx, ctx.tenantId, r.id, decision, ctx.actor, now);
        const [row] = await repo.listReviews(tx, ctx.tenantId, { id: r.id, limit: 1 });
        return { review: row!, moved, logId };
      });
    },

    async getGroup(ctx: TenantContext, id: string) {
      const [row] = isUuid(id) ? await repo.listGroups(db, ctx.tenantId, { id, limit: 1 }) : [];
      if (!row) throw notFound('PRICING_GROUP_NOT_FOUND', 'The match group');
      return row;
    },
  };
}
export type PricingService = ReturnType<typeof createPricingService>;
