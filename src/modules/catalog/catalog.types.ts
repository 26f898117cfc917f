/** Types shared inside the catalog module and exported by its public entry. */

/** One item as bulk writers (uploads, connectors) hand it over; money in integer minor units. */
export interface ItemUpsert {
  itemId: string;
  name: string;
  description?: string | null;
  /** Category path ('Electronics > Audio') or name; missing categories are created. */
  category?: string | null;
  brand?: string | null;
  tags?: string[] | null;
  priceMinor?: bigint | null;
  salePriceMinor?: bigint | null;
  currency?: string | null;
  imageUrl?: string | null;
  url?: string | null;
  availability?: 'in_stock' | 'out_of_stock' | 'preorder' | 'discontinued' | null;
  stock?: number | null;
  gtin?: string | null;
  mpn?: string | null;
  attributes?: Record<string, unknown> | null;
}
