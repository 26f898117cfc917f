/**
 * Metric events for experiments (seed 000's track-click / track-add-to-cart / track-purchase and a generic
 * track). Idempotent: an event carries a dedupe key (the order id of a purchase, else the event id or the
 * request's Idempotency-Key), and the same key counts once.
 */
import { type Db, type TenantContext, minorToMajor, newId, parseMoney, requirePermission, validation } from '../../platform/index.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { UnitResolver } from './units.ts';

export interface TrackInput {
  userId: string | undefined;
  anonymousId: string | undefined;
  event: string;
  /** Numeric value of the event (not for purchases, whose value is their amount). */
  value: number | undefined;
  /** Purchases: the amount in major units ("99.99" or 99.99) and its currency. */
  amount: string | number | undefined;
  currency: string | undefined;
  dedupeKey: string | undefined;
  experimentId: string | undefined;
  itemId: string | undefined;
  recommendationId: string | undefined;
  occurredAt: Date | undefined;
}

export interface TrackServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  units: UnitResolver;
  clock: () => Date;
}

export function createTrackingService(deps: TrackServiceDeps) {
  return {
    /** Stores one metric event; `counted` is false when its dedupe key was seen before (a retry, a duplicate purchase). */
    async track(ctx: TenantContext, input: TrackInput): Promise<{ eventId: string; counted: boolean; unitId: string }> {
      requirePermission(ctx, 'interactions:write');
      let value = input.value ?? 1;
      let amountMinor: bigint | null = null;
      let currency: string | null = null;
      if (input.amount !== undefined) {
        currency = (input.currency ?? 'USD').toUpperCase();
        const m = parseMoney(input.amount, currency);
        if (!m.ok)
          throw validation('VALIDATION_ERROR', `The request body is invalid: amount ${m.reason}.`, [
            { field: 'amount', message: m.reason },
          ]);
        amountMinor = m.minor;
        value = minorToMajor(m.minor, currency);
      }
      const unit = await deps.units.resolve(ctx.tenantId, input.userId, input.anonymousId);
      const id = newId();
      const inserted = await deps.repo.insertMetricEvents(deps.db, ctx.tenantId, [
        {
          id,
          unitId: unit.primary,
          event: input.event,
          value,
          amountMinor,
          currency,
          dedupeKey: input.dedupeKey ?? id,
          experimentId: input.experimentId ?? null,
          itemId: input.itemId ?? null,
          recommendationId: input.recommendationId ?? null,
          occurredAt: input.occurredAt ?? deps.clock(),
        },
      ]);
      return { eventId: id, counted: inserted.has(id), unitId: unit.primary };
    },
  };
}
export type TrackingService = ReturnType<typeof createTrackingService>;
