import { z } from 'zod';
import { anonymousRows, importKind } from './imports.schemas.ts';

/** A saved mapping's name: what the merchant picks it by at the next upload. */
const mappingName = z
  .string()
  .trim()
  .min(1, 'name is required')
  .max(80)
  .refine((v) => !/\p{Cc}/u.test(v), 'name must not contain control characters');

/** What an upload's `mapping` field takes (source column or `const:<value>` → Loupe field, `attribute` or `ignore`). */
const columnMapping = z
  .record(z.string().min(1).max(300), z.string().max(100))
  .refine((m) => Object.keys(m).length <= 500, 'a mapping names at most 500 columns');

export const savedMappingBody = z
  .object({
    name: mappingName,
    kind: importKind,
    mapping: columnMapping,
    anonymous_rows: anonymousRows.optional(),
  })
  .strict();

export const savedMapping = z.object({
  id: z.string(),
  name: z.string(),
  kind: importKind,
  mapping: z.record(z.string(), z.string()),
  anonymous_rows: anonymousRows.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const savedMappingListQuery = z.object({ kind: importKind.optional() }).strict();
export const savedMappingList = z.object({ data: z.array(savedMapping) });
