import { useState } from 'react';
import { Alert, Button, Group, NumberInput, Stack, Table, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import { RATE_LIMIT_CLASSES, type RateLimitClass, type RateLimitSettings, type Tenant } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { useSession } from '../../session.tsx';

/** What each class of traffic covers, and the server default (the base limits of seed 004, scaled per class). */
const CLASSES: Record<RateLimitClass, { label: string; covers: string; fallback: string }> = {
  management: {
    label: 'Management',
    covers: 'Dashboard and administrative API: catalog edits, keys, members, models, reports',
    fallback: '100 a minute, bursts of 20',
  },
  serving: {
    label: 'Serving',
    covers: 'Recommendations, similar items, search and autocomplete',
    fallback: '6,000 a minute, bursts of 1,200',
  },
  ingest: {
    label: 'Collection',
    covers: 'Interactions, tracking, Segment-compatible calls and imports',
    fallback: '6,000 a minute, bursts of 1,200',
  },
};

type Limit = { requests_per_minute?: number | undefined; burst?: number | undefined };
type Draft = Record<RateLimitClass, { rpm: number | ''; burst: number | '' }>;

function limitOf(rl: RateLimitSettings | undefined, c: RateLimitClass): Limit | undefined {
  if (!rl) return undefined;
  const l = c === 'management' ? rl : rl[c];
  return l?.requests_per_minute ? l : undefined;
}

function draftOf(rl: RateLimitSettings | undefined): Draft {
  const d = {} as Draft;
  for (const c of RATE_LIMIT_CLASSES) {
    const l = limitOf(rl, c);
    d[c] = { rpm: l?.requests_per_minute ?? '', burst: l?.burst ?? '' };
  }
  return d;
}

/** settings.rate_limit from the form: empty fields fall back to the server default. */
function settingsOf(d: Draft): RateLimitSettings {
  const out: RateLimitSettings = {};
  const one = (c: RateLimitClass) =>
    d[c].rpm === '' ? undefined : { requests_per_minute: d[c].rpm, burst: d[c].burst === '' ? 0 : d[c].burst };
  const m = one('management');
  if (m) Object.assign(out, m);
  const s = one('serving');
  if (s) out.serving = s;
  const i = one('ingest');
  if (i) out.ingest = i;
  return out;
}

/** Settings → Rate limits: the tenant's limit per class of traffic; a platform administrator edits them. */
export function RateLimits() {
  const { tenantId, data } = useSession();
  const qc = useQueryClient();
  const isAdmin = !!data?.user.is_platform_admin;
  const tenant = useQuery({ queryKey: ['tenant', tenantId], queryFn: ({ signal }) => get<Tenant>('/api/v1/tenant', undefined, signal) });
  const [draft, setDraft] = useState<Draft | null>(null);
  const save = useMutation({
    mutationFn: (v: { t: Tenant; d: Draft }) =>
      api<Tenant>('PATCH', `/api/v1/admin/tenants/${v.t.id}`, { body: { settings: { ...v.t.settings, rate_limit: settingsOf(v.d) } } }),
    onSuccess: () => {
      setDraft(null);
      void qc.invalidateQueries({ queryKey: ['tenant'] });
    },
  });
  if (tenant.isLoading) return <Loading />;
  if (tenant.error) return <ErrorState error={tenant.error} />;
  const t = tenant.data!;
  const rl = t.settings.rate_limit as RateLimitSettings | undefined;
  const d = draft ?? draftOf(rl);
  const set = (c: RateLimitClass, k: 'rpm' | 'burst', v: string | number) =>
    setDraft({ ...d, [c]: { ...d[c], [k]: typeof v === 'number' ? v : '' } });

  return (
    <Stack gap="sm" data-testid="rate-limits">
      <Text size="sm" c="dimmed">
        Each class of traffic has its own budget per minute, so a busy storefront never locks the dashboard out, and the other way round.
        Requests over a limit are answered 429 with a Retry-After header.
      </Text>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Class</Table.Th>
            <Table.Th>Covers</Table.Th>
            <Table.Th>Requests per minute</Table.Th>
            <Table.Th>Burst</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {RATE_LIMIT_CLASSES.map((c) => {
            const own = limitOf(rl, c);
            return (
              <Table.Tr key={c}>
                <Table.Td>{CLASSES[c].label}</Table.Td>
                <Table.Td>{CLASSES[c].covers}</Table.Td>
                {isAdmin ? (
                  <>
                    <Table.Td>
                      <NumberInput
                        aria-label={`${CLASSES[c].label} requests per minute`}
                        placeholder="server default"
                        min={1}
                        max={1_000_000}
                        value={d[c].rpm}
                        onChange={(v) => set(c, 'rpm', v)}
                      />
                    </Table.Td>
                    <Table.Td>
                      <NumberInput
                        aria-label={`${CLASSES[c].label} burst`}
                        placeholder="0"
                        min={0}
                        max={1_000_000}
                        value={d[c].burst}
                        onChange={(v) => set(c, 'burst', v)}
                      />
                    </Table.Td>
                  </>
                ) : (
                  <>
                    <Table.Td>{own ? own.requests_per_minute : `default (${CLASSES[c].fallback})`}</Table.Td>
                    <Table.Td>{own ? (own.burst ?? 0) : ''}</Table.Td>
                  </>
                )}
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {isAdmin ? (
        <>
          {save.error ? <Alert color="red">{save.error instanceof ApiError ? save.error.message : 'Saving failed.'}</Alert> : null}
          <Group>
            <Button onClick={() => save.mutate({ t, d })} loading={save.isPending} disabled={!draft}>
              Save rate limits
            </Button>
            <Text size="sm" c="dimmed">
              Leave a class empty for the server default.
            </Text>
          </Group>
        </>
      ) : (
        <Text size="sm" c="dimmed">
          A platform administrator changes these limits.
        </Text>
      )}
    </Stack>
  );
}
