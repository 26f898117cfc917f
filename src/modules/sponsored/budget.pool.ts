/**
 * Budget blocks: the feed's sponsored decisions reserve budget off the request path.
 *
 * Reserving one decision at a time is one conditional UPDATE of the campaign row per sponsored slot: every feed
 * page of every shopper writes the same hot row (on the embedded database every statement of the process waits
 * for it). Instead, a process reserves a BLOCK of a campaign's budget with that same conditional statement
 * (`reserveBlock`: up to `units` decisions' cost, never past the budget or the pacing cap), held as one open
 * decision row of its own (user id `BLOCK_USER`) that expires like any reservation. Decisions are then carved
 * from the block in memory and their rows written in batches (`flushMs`), each batch moving its sum from the
 * block row to the decision rows in ONE statement. So:
 *
 * - spent + reserved never exceeds the budget (or the pacing cap at the time the block was taken): every milli
 *   a decision carries was reserved by the block first. Overspend bound: 0. What a block can hold is bounded by
 *   `units` decisions and by a quarter of what the campaign has left, so other processes are not starved;
 * - a block is carved for at most `carveMs` (and only on the day it was taken: daily budgets), then its
 *   remainder goes back to the campaign; a process that dies leaves a block row that expires and is released
 *   like any reservation;
 * - a batch that finds its block already released (the process stalled past the block's expiry) writes its
 *   decisions with nothing reserved: their click or impression is then charged only if the budget still holds
 *   it, as for any unreserved event, so the budget holds then too;
 * - a decision row is written at most `flushMs` after the feed served it; an impression or click reported to
 *   this process before that flushes first (`isPending`). Reported to another process in that window, it is
 *   refused as an unknown decision (the caller retries).
 */
import { type Db, newId } from '../../platform/index.ts';
import type { CarvedDecision, DecisionRow, SponsoredRepository } from './sponsored.repository.ts';

/** The user id of a block's own reservation row (never a shopper: erasure and caps never match it). */
export const BLOCK_USER = '';

export interface BudgetPoolDeps {
  db: Db;
  repo: SponsoredRepository;
  clock: () => Date;
  log: { warn(obj: unknown, msg: string): void };
  /** Decisions one block holds at most (default 64). */
  units?: number;
  /** How long a block is carved before its remainder goes back (default 30 s; at most half its reservation). */
  carveMs?: number;
  /** Longest wait before served decisions are written (default 50 ms). */
  flushMs?: number;
}

export interface Take {
  campaignId: string;
  budgetMinor: bigint;
  /** What the campaign has left (milli), as last read: a block takes at most a quarter of it. */
  remainingMilli: bigint;
  userId: string;
  placement: string;
  priceMinor: bigint;
  costMilli: bigint;
  capMilli: bigint;
  today: string;
  now: Date;
  reservationSeconds: number;
}

interface Block {
  id: string;
  tenantId: string;
  campaignId: string;
  day: string;
  leftMilli: bigint;
  carveUntil: number;
  pending: CarvedDecision[];
  pendingSum: bigint;
  retired: boolean;
}

export function createBudgetPool(deps: BudgetPoolDeps) {
  const units = BigInt(deps.units ?? 64);
  const carveMs = deps.carveMs ?? 30_000;
  const flushMs = deps.flushMs ?? 50;
  /** The block being carved per tenant and campaign. */
  const blocks = new Map<string, Block>();
  /** Blocks with decisions not written yet, or retired with a remainder not yet returned. */
  const dirty = new Set<Block>();
  /** A block being reserved: concurrent takes of the campaign wait for it instead of reserving their own. */
  const reserving = new Map<string, Promise<Block | undefined>>();
  const unwritten = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  async function writeBlock(b: Block): Promise<void> {
    const rows = b.pending;
    const sum = b.pendingSum;
    b.pending = [];
    b.pendingSum = 0n;
    try {
      if (rows.length > 0) {
        const backed = await deps.repo.insertCarved(deps.db, b.tenantId, b.id, rows, sum, b.day);
        if (!backed)
          deps.log.warn({ campaignId: b.campaignId, decisions: rows.length }, 'budget block expired before its decisions were written');
      }
      if (b.retired) await deps.repo.releaseBlock(deps.db, b.tenantId, b.id, deps.clock());
    } catch (err) {
      // The decisions stay unknown (their events are refused, nothing is charged); the block expires and is released.
      deps.log.warn({ err, campaignId: b.campaignId }, 'sponsored decisions could not be written');
    } finally {
      for (const r of rows) unwritten.delete(r.id);
    }
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (dirty.size > 0) {
      const batch = [...dirty];
      dirty.clear();
      chain = chain.then(async () => {
        for (const b of batch) await writeBlock(b);
      });
    }
    return chain;
  }

  function schedule(): void {
    if (!timer) timer = setTimeout(() => void flush(), flushMs).unref();
  }

  function retire(key: string, b: Block): void {
    if (b.retired) return;
    b.retired = true;
    if (blocks.get(key) === b) blocks.delete(key);
    dirty.add(b);
    schedule();
  }

  async function reserve(tenantId: string, t: Take): Promise<Block | undefined> {
    // At most `units` decisions, at most a quarter of what is left, at least one decision.
    const quarter = t.remainingMilli / 4n / t.costMilli;
    let n = quarter < units ? (quarter < 1n ? 1n : quarter) : units;
    const expiresAt = new Date(t.now.getTime() + t.reservationSeconds * 1000);
    while (n >= 1n) {
      const id = newId();
      const ok = await deps.repo.reserveBlock(deps.db, tenantId, {
        id,
        campaignId: t.campaignId,
        userId: BLOCK_USER,
        placement: 'budget_block',
        priceMinor: t.priceMinor,
        costMilli: n * t.costMilli,
        capMilli: t.capMilli,
        today: t.today,
        now: t.now,
        expiresAt,
      });
      if (ok)
        return {
          id,
          tenantId,
          campaignId: t.campaignId,
          day: t.today,
          leftMilli: n * t.costMilli,
          carveUntil: t.now.getTime() + Math.min(carveMs, (t.reservationSeconds * 1000) / 2),
          pending: [],
          pendingSum: 0n,
          retired: false,
        };
      // Another process (or the pacing cap) took some of it: try a smaller block.
      n /= 2n;
    }
    return undefined;
  }

  function carve(b: Block, t: Take): DecisionRow {
    const row: CarvedDecision = {
      id: newId(),
      campaignId: t.campaignId,
      userId: t.userId,
      placement: t.placement,
      priceMinor: t.priceMinor,
      reservedMilli: t.costMilli,
      state: 'open',
      expiresAt: new Date(t.now.getTime() + t.reservationSeconds * 1000),
      createdAt: t.now,
    };
    b.leftMilli -= t.costMilli;
    b.pending.push(row);
    b.pendingSum += t.costMilli;
    unwritten.add(row.id);
    dirty.add(b);
    if (b.pending.length >= 500) void flush();
    else schedule();
    const { createdAt: _, ...decision } = row;
    return decision;
  }

  const usable = (b: Block | undefined, t: Take): b is Block =>
    !!b && !b.retired && b.day === t.today && t.now.getTime() < b.carveUntil && b.leftMilli >= t.costMilli;

  return {
    /**
     * A decision for one served slot, its cost carved from this process's block of the campaign's budget
     * (a new block is reserved when there is none or it cannot hold the cost). Undefined: the budget (or the
     * pacing cap) cannot hold one more decision.
     */
    async take(tenantId: string, t: Take): Promise<DecisionRow | undefined> {
      if (t.costMilli <= 0n) return undefined;
      const key = `${tenantId}:${t.campaignId}`;
      for (let attempt = 0; attempt < 3; attempt++) {
        const b = blocks.get(key);
        if (usable(b, t)) return carve(b, t);
        if (b) retire(key, b);
        let p = reserving.get(key);
        if (!p) {
          p = reserve(tenantId, t).finally(() => reserving.delete(key));
          reserving.set(key, p);
        }
        const fresh = await p;
        if (!fresh) return undefined;
        if (!blocks.has(key) || blocks.get(key)!.retired) blocks.set(key, fresh);
        const cur = blocks.get(key)!;
        if (usable(cur, t)) return carve(cur, t);
      }
      return undefined;
    },
    /** Gives back the blocks of campaigns of the tenant that are no longer served (paused, ended, changed). */
    retireExcept(tenantId: string, activeCampaignIds: ReadonlySet<string>): void {
      for (const [key, b] of blocks) if (b.tenantId === tenantId && !activeCampaignIds.has(b.campaignId)) retire(key, b);
    },
    /** Is this decision served but not written yet? (Then `flush` before reading it.) */
    isPending: (decisionId: string) => unwritten.has(decisionId),
    /** Resolves once every decision served so far is written (and retired blocks given back). */
    flush,
    /** Writes what is pending and gives every block's remainder back (shutdown, tests). */
    async stop(): Promise<void> {
      for (const [key, b] of blocks) retire(key, b);
      await flush();
    },
  };
}
export type BudgetPool = ReturnType<typeof createBudgetPool>;
