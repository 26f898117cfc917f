import { z } from 'zod';

export const googleStatus = z.object({
  configured: z.boolean(),
  linked: z.boolean(),
  status: z.enum(['not_linked', 'linked', 'consent_revoked']),
  google_account: z.string().nullable(),
  scopes: z.string().nullable(),
  linked_at: z.string().nullable(),
  token_expires_at: z.string().nullable(),
  merchant: z
    .object({ merchant_id: z.string(), data_source_id: z.string(), feed_label: z.string(), content_language: z.string() })
    .nullable(),
});
