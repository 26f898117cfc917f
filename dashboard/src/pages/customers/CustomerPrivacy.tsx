import { Button, Card, Group, Text, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { api, get } from '../../api/client.ts';
import { ErrorState } from '../../components/states.tsx';
import { downloadJson } from '../../lib/download.ts';

/**
 * The person's data rights: everything stored about them as a JSON file (GET /api/v1/profiles/:id/export,
 * audited), and erasure (DELETE /api/v1/profiles/:id: a signed-in user with `data:delete`, after a fresh password
 * or two-factor check, which the client asks for when the server requires it).
 */
export function CustomerPrivacy({ profileId, label }: { profileId: string; label: string }) {
  const navigate = useNavigate();
  const exportData = useMutation({
    mutationFn: () => get<unknown>(`/api/v1/profiles/${encodeURIComponent(profileId)}/export`),
    onSuccess: (data) => downloadJson(`customer-${profileId}.json`, data),
  });
  const erase = useMutation({
    mutationFn: () => api<{ events_anonymized: number }>('DELETE', `/api/v1/profiles/${encodeURIComponent(profileId)}`),
    onSuccess: (out) => navigate(`/customers?erased=${encodeURIComponent(String(out.events_anonymized))}`),
  });
  return (
    <Card withBorder data-testid="customer-privacy">
      <Title order={4} size="h5" mb="xs">
        Privacy
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        Answer a data access request with everything stored about this person, or erase them: identifiers are deleted, their events are kept
        without anything that identifies them, and the anonymous totals stay.
      </Text>
      <Group>
        <Button variant="default" loading={exportData.isPending} onClick={() => exportData.mutate()}>
          Export their data (JSON)
        </Button>
        <Button
          color="red"
          variant="light"
          loading={erase.isPending}
          onClick={() =>
            confirm(`Erase ${label}? Their identifiers are deleted and their events anonymized. This cannot be undone.`) && erase.mutate()
          }
        >
          Erase this person
        </Button>
      </Group>
      {exportData.error && <ErrorState error={exportData.error} />}
      {erase.error && <ErrorState error={erase.error} />}
    </Card>
  );
}
