import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

/** Page filters live in the query string so that a URL can be bookmarked and shared. */
export function useParams<K extends string>(keys: readonly K[]): [Record<K, string>, (patch: Partial<Record<K, string | null>>) => void] {
  const [sp, setSp] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, sp.get(k) ?? ''])) as Record<K, string>;
  const set = useCallback(
    (patch: Partial<Record<K, string | null>>) => {
      setSp(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch) as [string, string | null | undefined][]) {
            if (v) next.set(k, v);
            else next.delete(k);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setSp],
  );
  return [values, set];
}
