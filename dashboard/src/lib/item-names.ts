import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.ts';
import type { ItemList } from '../api/types.ts';
import { useSession } from '../session.tsx';

/** The most item ids one catalog call names (the server's ITEM_ID_BATCH_MAX). */
const BATCH = 100;

/**
 * Product names of the store item ids a page shows, in one catalog call (GET /items?item_id=a&item_id=b): a timeline
 * or an order names its products without a request per row. Ids the catalog lacks stay unnamed (the caller shows the id).
 */
export function useItemNames(itemIds: readonly (string | null | undefined)[]): Map<string, string> {
  const { tenantId } = useSession();
  const ids = [...new Set(itemIds.filter((i): i is string => typeof i === 'string' && i !== ''))].sort().slice(0, BATCH);
  const q = useQuery({
    queryKey: ['item-names', tenantId, ids],
    enabled: ids.length > 0,
    staleTime: 60_000,
    queryFn: ({ signal }) => {
      const qs = new URLSearchParams(ids.map((id) => ['item_id', id]));
      qs.set('limit', String(BATCH));
      return get<ItemList>(`/api/v1/items?${qs.toString()}`, undefined, signal);
    },
  });
  return new Map((q.data?.data ?? []).map((i) => [i.item_id, i.name]));
}
