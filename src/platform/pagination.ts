import { z } from 'zod';

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
};

/** Fetch `limit + 1` rows, return `limit` and a cursor when there are more. */
export function paginate<T>(rows: T[], limit: number, cursorOf: (row: T) => string): { data: T[]; next_cursor: string | null } {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  return { data, next_cursor: hasMore ? cursorOf(data[data.length - 1]!) : null };
}

export const iso = (d: Date | string | null | undefined): string | null => (d == null ? null : new Date(d).toISOString());
