import { z } from 'zod';

/** Public contract of the integrations API: the vendors a connection can be made to. */
export const CONNECTOR_TYPES = ['shopify', 'woocommerce', 'stripe', 'twilio'] as const;

/** The base URL webhook addresses are built from, where it comes from, and why a store might not reach it. */
export const publicUrlView = z.object({
  url: z.string().describe('The base URL webhook addresses use now'),
  source: z.enum(['tenant_setting', 'environment', 'request']),
  warning: z
    .string()
    .nullable()
    .describe('Why a store could not reach it (a local or private address, not https); null when it looks public'),
  tenant_setting: z.string().nullable(),
  environment: z.string().nullable(),
});
