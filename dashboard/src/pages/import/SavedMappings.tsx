import { useState } from 'react';
import { Button, Group, Select, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../../api/client.ts';
import { ErrorState } from '../../components/states.tsx';
import type { SavedMapping, SavedMappingBody, SavedMappingList } from '../../api/types.ts';

/**
 * The tenant's named column mappings for this kind of file: pick one to apply it to the file at hand, or save the
 * mapping shown under a name for the next upload (imports' `/api/v1/imports/mappings`).
 */
export function SavedMappings({
  kind,
  tenantId,
  current,
  onPick,
}: {
  kind: 'items' | 'interactions';
  tenantId: string | null;
  /** The mapping and anonymous-rows choice the page would upload with now. */
  current: { mapping: Record<string, string>; anonymousRows: 'anonymous' | undefined };
  onPick: (m: SavedMapping) => void;
}) {
  const qc = useQueryClient();
  const [picked, setPicked] = useState<string | null>(null);
  const [name, setName] = useState('');
  const list = useQuery({
    queryKey: ['import-mappings', tenantId, kind],
    queryFn: ({ signal }) => get<SavedMappingList>('/api/v1/imports/mappings', { kind }, signal),
    enabled: !!tenantId,
  });
  const save = useMutation({
    meta: { success: 'Mapping saved' },
    mutationFn: () =>
      api<SavedMapping>('POST', '/api/v1/imports/mappings', {
        body: {
          name,
          kind,
          mapping: current.mapping,
          ...(current.anonymousRows ? { anonymous_rows: current.anonymousRows } : {}),
        } satisfies SavedMappingBody,
      }),
    onSuccess: (m) => {
      setName('');
      setPicked(m.id);
      void qc.invalidateQueries({ queryKey: ['import-mappings', tenantId] });
    },
  });
  const saved = list.data?.data ?? [];
  return (
    <Group mt="sm" align="flex-end" gap="lg" data-testid="saved-mappings">
      <Select
        label="Saved mapping"
        size="xs"
        w={240}
        placeholder={saved.length ? 'Pick one to apply it' : 'None saved yet'}
        disabled={!saved.length}
        data={saved.map((m) => ({ value: m.id, label: m.name }))}
        value={picked}
        onChange={(id) => {
          setPicked(id);
          const m = saved.find((x) => x.id === id);
          if (m) onPick(m);
        }}
      />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) save.mutate();
        }}
      >
        <Group align="flex-end" gap="xs">
          <TextInput
            label="Save this mapping as"
            size="xs"
            w={220}
            maxLength={80}
            placeholder="e.g. Supplier feed"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={save.error ? (save.error as Error).message : undefined}
          />
          <Button type="submit" size="xs" variant="light" loading={save.isPending} disabled={!name.trim()}>
            Save mapping
          </Button>
        </Group>
      </form>
      {list.error && <ErrorState error={list.error} feature="Saved mappings" />}
    </Group>
  );
}
