import { useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Image, SimpleGrid, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api, ApiError, get } from '../../api/client.ts';
import type { Tenant } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { fmtDate } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

interface TwoFactorStatus {
  enabled: boolean;
  enabled_at: string | null;
  recovery_codes_left: number;
}
interface Enrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

const errorText = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong. Try again.');

/** Recovery codes, shown once: copy or save them now. */
function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <Alert color="yellow" title="Save your recovery codes now" role="status">
      <Stack gap="xs">
        <Text size="sm">Each code signs you in once if you lose your phone. They are not shown again.</Text>
        <Code block data-testid="recovery-codes">
          {codes.join('\n')}
        </Code>
        <CopyButton value={codes.join('\n')}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy} w="fit-content">
              {copied ? 'Copied' : 'Copy the codes'}
            </Button>
          )}
        </CopyButton>
      </Stack>
    </Alert>
  );
}

/** Settings → Security: the account's two-factor sign-in, and the store's rule requiring it of members. */
export function Security() {
  const qc = useQueryClient();
  const [sp] = useSearchParams();
  const { tenantId, tenant, data } = useSession();
  const status = useQuery({
    queryKey: ['two-factor'],
    queryFn: ({ signal }) => get<TwoFactorStatus>('/api/v1/auth/2fa', undefined, signal),
  });
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['two-factor'] });
    void qc.invalidateQueries({ queryKey: ['session'] });
  };
  const enrol = useMutation({
    mutationFn: () => api<Enrolment>('POST', '/api/v1/auth/2fa/enrol'),
    onSuccess: (e) => {
      setEnrolment(e);
      setCodes(null);
      setCode('');
    },
  });
  const confirm = useMutation({
    mutationFn: () => api<{ recovery_codes: string[] }>('POST', '/api/v1/auth/2fa/confirm', { body: { code: code.trim() } }),
    onSuccess: (out) => {
      setEnrolment(null);
      setCodes(out.recovery_codes);
      refresh();
    },
  });
  const regenerate = useMutation({
    mutationFn: () => api<{ recovery_codes: string[] }>('POST', '/api/v1/auth/2fa/recovery-codes'),
    onSuccess: (out) => {
      setCodes(out.recovery_codes);
      refresh();
    },
  });
  const disable = useMutation({ mutationFn: () => api('DELETE', '/api/v1/auth/2fa'), onSuccess: refresh });
  const canManage = tenant?.role === 'owner' || tenant?.role === 'admin' || !!data?.user.is_platform_admin;
  const store = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: ({ signal }) => get<Tenant>('/api/v1/tenant', undefined, signal),
    enabled: canManage && !!status.data?.enabled,
  });
  const rule = useMutation({
    mutationFn: (on: boolean) => api<{ require_2fa: boolean }>('PUT', '/api/v1/tenant/security', { body: { require_2fa: on } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['tenant'] }),
  });
  const failure = enrol.error ?? confirm.error ?? regenerate.error ?? disable.error;

  return (
    <Stack maw={720}>
      {sp.get('required') === '1' && !status.data?.enabled && (
        <Alert color="orange" role="alert" title="Two-factor sign-in is required">
          {tenant?.name ?? 'This store'} asks every member to sign in with a second factor. Turn it on below to carry on.
        </Alert>
      )}
      <Title order={3} size="h4">
        Two-factor sign-in
      </Title>
      {status.isLoading ? (
        <Loading label="Loading security settings" />
      ) : status.error ? (
        <ErrorState error={status.error} />
      ) : status.data!.enabled ? (
        <Stack gap="sm">
          <Group>
            <Badge color="green">On</Badge>
            <Text size="sm">
              Since {fmtDate(status.data!.enabled_at)} · {status.data!.recovery_codes_left} recovery codes left
            </Text>
          </Group>
          <Group>
            <Button variant="light" loading={regenerate.isPending} onClick={() => regenerate.mutate()}>
              New recovery codes
            </Button>
            <Button
              color="red"
              variant="light"
              loading={disable.isPending}
              onClick={() => window.confirm('Turn two-factor sign-in off? Your password alone will then sign you in.') && disable.mutate()}
            >
              Turn off
            </Button>
          </Group>
        </Stack>
      ) : enrolment ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            confirm.mutate();
          }}
        >
          <Stack gap="sm">
            <Text size="sm">
              Scan this code with an authenticator app (Google Authenticator, 1Password, Authy…), then enter the 6 digits it shows.
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <Image
                src={`data:image/svg+xml;utf8,${encodeURIComponent(enrolment.qr_svg)}`}
                alt="QR code to scan with an authenticator app"
                maw={220}
              />
              <Stack gap="xs">
                <Text size="sm">Cannot scan? Enter this key by hand:</Text>
                <Code data-testid="totp-secret">{enrolment.secret}</Code>
              </Stack>
            </SimpleGrid>
            <TextInput
              label="Code from the app"
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              maw={220}
              required
            />
            <Group>
              <Button type="submit" loading={confirm.isPending}>
                Confirm and turn on
              </Button>
            </Group>
          </Stack>
        </form>
      ) : (
        <Stack gap="sm">
          <Text size="sm">
            Off. With it on, signing in also asks for a code from an app on your phone, so a stolen password is not enough.
          </Text>
          <Group>
            <Button loading={enrol.isPending} onClick={() => enrol.mutate()}>
              Turn on two-factor sign-in
            </Button>
          </Group>
        </Stack>
      )}
      {failure && (
        <Alert color="red" role="alert">
          {errorText(failure)}
        </Alert>
      )}
      {codes && <RecoveryCodes codes={codes} />}
      {canManage && (
        <>
          <Title order={3} size="h4">
            Store sign-in rules
          </Title>
          {!status.data?.enabled ? (
            <Text size="sm" c="dimmed">
              Turn on two-factor sign-in for your own account first; then you can require it of every member of{' '}
              {tenant?.name ?? 'this store'}.
            </Text>
          ) : store.isLoading ? (
            <Loading label="Loading the store's rules" />
          ) : store.error ? (
            <ErrorState error={store.error} />
          ) : (
            <Switch
              label="Require two-factor sign-in for members"
              description="Members without it are sent to turn it on before they can see anything else of this store."
              checked={store.data?.settings.require_2fa === true}
              disabled={rule.isPending}
              onChange={(e) => rule.mutate(e.currentTarget.checked)}
            />
          )}
          {rule.error && (
            <Alert color="red" role="alert">
              {errorText(rule.error)}
            </Alert>
          )}
        </>
      )}
    </Stack>
  );
}
