import { useMemo, useState } from 'react';
import { Alert, Button, Group, Select, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import type { RegionalResponse } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { fmtDate, fmtMoney, fmtNumber } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'INR', 'BRL', 'MXN', 'KWD'];
const LOCALES = ['en-US', 'en-GB', 'en-AU', 'en-CA', 'de-DE', 'fr-FR', 'es-ES', 'it-IT', 'nl-NL', 'pl-PL', 'sv-SE', 'pt-BR', 'ja-JP'];
const zones = (): string[] => {
  const f = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  return f ? ['UTC', ...f('timeZone').filter((z) => z !== 'UTC')] : ['UTC', 'Europe/London', 'America/New_York'];
};
const withCurrent = (list: string[], v: string) => (list.includes(v) ? list : [v, ...list]);

/** Settings: the tenant's currency, locale and time zone (every page's money, numbers and dates use them). */
export function Regional() {
  const { tenantId, tenant, data } = useSession();
  // changing them needs tenant:manage (owners; platform administrators): others see them, read-only
  const canEdit = tenant?.role === 'owner' || !!data?.user.is_platform_admin;
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['regional', tenantId],
    queryFn: ({ signal }) => get<RegionalResponse>('/api/v1/settings/regional', undefined, signal),
  });
  const [draft, setDraft] = useState<Partial<RegionalResponse>>({});
  const [saved, setSaved] = useState(false);
  const allZones = useMemo(zones, []);
  const save = useMutation({
    mutationFn: (body: Partial<RegionalResponse>) => api<RegionalResponse>('PATCH', '/api/v1/settings/regional', { body }),
    onSuccess: (v) => {
      qc.setQueryData(['regional', tenantId], v);
      setDraft({});
      setSaved(true);
    },
  });
  if (q.isPending) return <Loading label="Loading the regional settings" />;
  if (q.error) return <ErrorState error={q.error} feature="Regional settings" />;
  const v = { ...q.data, ...draft };
  const details = (save.error instanceof ApiError ? save.error.details : []) as { field?: unknown; message?: unknown }[];
  const fieldError = (f: string) => {
    const d = details.find((x) => String(x.field ?? '').endsWith(f));
    return d ? String(d.message ?? 'invalid') : null;
  };
  return (
    <Stack maw={720}>
      <Text size="sm">Money, numbers and dates across the dashboard are shown with these. Reports cut days in the time zone.</Text>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          save.mutate(draft);
        }}
      >
        <Stack>
          <Group align="flex-end" grow>
            <Select
              label="Currency"
              data={withCurrent(CURRENCIES, v.currency)}
              value={v.currency}
              onChange={(x) => x && setDraft((d) => ({ ...d, currency: x }))}
              allowDeselect={false}
              error={fieldError('currency')}
              disabled={!canEdit}
            />
            <Select
              label="Language and region"
              data={withCurrent(LOCALES, v.locale)}
              value={v.locale}
              onChange={(x) => x && setDraft((d) => ({ ...d, locale: x }))}
              allowDeselect={false}
              error={fieldError('locale')}
              disabled={!canEdit}
            />
            <Select
              label="Time zone"
              data={withCurrent(allZones, v.timezone)}
              value={v.timezone}
              onChange={(x) => x && setDraft((d) => ({ ...d, timezone: x }))}
              searchable
              allowDeselect={false}
              error={fieldError('timezone')}
              disabled={!canEdit}
            />
          </Group>
          <Text size="sm" c="dimmed" data-testid="regional-preview">
            Looks like: {fmtMoney('1234.5', v.currency)} · {fmtNumber(1234567.89)} · {fmtDate(new Date().toISOString())}
          </Text>
          {!canEdit && (
            <Text size="sm" c="dimmed" data-testid="regional-read-only">
              Only an owner of this store can change these.
            </Text>
          )}
          <Group>
            {canEdit && (
              <Button type="submit" loading={save.isPending} disabled={Object.keys(draft).length === 0}>
                Save
              </Button>
            )}
            {saved && (
              <Text size="sm" c="green" role="status">
                Saved.
              </Text>
            )}
          </Group>
          {save.error && details.length === 0 && (
            <Alert color="red" role="alert">
              {save.error instanceof ApiError ? save.error.message : 'Could not save: try again.'}
            </Alert>
          )}
        </Stack>
      </form>
    </Stack>
  );
}
