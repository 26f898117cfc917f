import type { ResolveInput } from '../../identity/index.ts';
import type { PendingEvent } from '../ingest.core.ts';
import { CONNECTOR_TYPES } from '../integrations.schemas.ts';

/** What a verified webhook delivery turns into, decided by a pure mapping function per vendor. */
export interface MappedDelivery {
  /** Interactions to store (purchase per line item, refund, message ...), idempotent by their event ids. */
  events: PendingEvent[];
  /** Identity updates that carry no interaction (customer created or updated). */
  profiles: ResolveInput[];
  /** Set when the topic is acknowledged but not used (the vendor must not retry it). */
  ignored?: string;
}

export { CONNECTOR_TYPES };

/** A JSON object or an empty one: vendor payloads are read defensively (unknown fields ignored, missing ones tolerated). */
export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const text = (v: unknown, max = 200): string | null =>
  typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : typeof v === 'number' && Number.isFinite(v) ? String(v) : null;
export const int = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && Math.abs(n) <= 1e9 ? n : null;
};
/** A vendor timestamp, or the fallback when absent or unreadable. */
export const dateOr = (v: unknown, fallback: Date): Date => {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v !== 'string' || !v) return fallback;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) || !/T/.test(v) ? v : `${v}Z`);
  return Number.isFinite(d.getTime()) ? d : fallback;
};
