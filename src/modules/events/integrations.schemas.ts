/** Public contract of the integrations API: the vendors a connection can be made to. */
export const CONNECTOR_TYPES = ['shopify', 'woocommerce', 'stripe', 'twilio'] as const;
