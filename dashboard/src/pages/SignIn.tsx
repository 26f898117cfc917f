import { useEffect, useState } from 'react';
import { Alert, Anchor, Button, Center, Divider, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError, session } from '../api/client.ts';
import { safeNext } from '../lib/next.ts';
import { useSession } from '../session.tsx';
import { STORE_KEY, ssoProviders, startSso } from './sso.ts';

/**
 * "Sign in with <provider>": the store's identity providers, for the store named by `?store=` (the link a store
 * shares with its team) or remembered from the last single sign-on, or typed in.
 */
function SingleSignOnButtons({ next }: { next: string }) {
  const [sp] = useSearchParams();
  const initial = sp.get('store') ?? (typeof localStorage === 'undefined' ? null : localStorage.getItem(STORE_KEY)) ?? '';
  const [store, setStore] = useState(initial);
  const [asked, setAsked] = useState(initial);
  const [providers, setProviders] = useState<{ id: string; name: string }[] | null>(null);
  const [open, setOpen] = useState(!!initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  useEffect(() => {
    if (!asked) return;
    let live = true;
    setProviders(null);
    setError(null);
    ssoProviders(asked)
      .then((r) => live && setProviders(r.providers))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : 'Could not reach the server.'));
    return () => {
      live = false;
    };
  }, [asked]);
  if (!open)
    return (
      <Anchor component="button" type="button" size="sm" onClick={() => setOpen(true)}>
        Use your company's single sign-on (SSO)
      </Anchor>
    );
  return (
    <Stack gap="xs" data-testid="sso-sign-in">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setAsked(store.trim());
        }}
      >
        <Group align="flex-end" gap="xs">
          <TextInput
            label="Store"
            description="The store's short name, as in its sign-in link"
            value={store}
            onChange={(e) => setStore(e.currentTarget.value)}
            style={{ flex: 1 }}
          />
          <Button type="submit" variant="default">
            Find
          </Button>
        </Group>
      </form>
      {error && (
        <Alert color="red" role="alert">
          {error}
        </Alert>
      )}
      {asked && !providers && !error && <Text size="sm">Looking up {asked}…</Text>}
      {providers?.length === 0 && (
        <Text size="sm" c="dimmed">
          No single sign-on is set up for "{asked}". Check the name, or sign in with your password.
        </Text>
      )}
      {providers?.map((p) => (
        <Button
          key={p.id}
          variant="light"
          loading={busy === p.id}
          onClick={async () => {
            setBusy(p.id);
            setError(null);
            try {
              await startSso(asked, p.id, next);
            } catch (e) {
              setError(e instanceof ApiError ? e.message : 'Could not reach the server.');
              setBusy(null);
            }
          }}
        >
          Sign in with {p.name}
        </Button>
      ))}
    </Stack>
  );
}

export function SignInPage() {
  const { signedIn, signIn, signInSecondStep } = useSession();
  const navigate = useNavigate();
  const [sp] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const target = safeNext(sp.get('next'));
  const ended = session.endReason();
  if (signedIn && !busy) return <Navigate to={target} replace />;
  if (challenge)
    return (
      <Center mih="100vh" p="md" component="main">
        <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={400}>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              setBusy(true);
              setError(null);
              try {
                await signInSecondStep(challenge, useRecovery ? { recovery_code: code } : { code: code.trim() });
                navigate(target, { replace: true });
              } catch (err) {
                if (err instanceof ApiError && err.code === 'MFA_TOKEN_INVALID') setChallenge(null);
                setError(err instanceof ApiError ? err.message : 'Could not reach the server.');
              } finally {
                setBusy(false);
              }
            }}
          >
            <Stack>
              <div>
                <Title order={1} size="h2">
                  Two-factor sign-in
                </Title>
                <Text size="sm" c="dimmed">
                  {useRecovery
                    ? 'Enter one of the recovery codes you saved when you turned two-factor sign-in on. Each works once.'
                    : 'Enter the 6-digit code your authenticator app shows for Loupe.'}
                </Text>
              </div>
              {error && (
                <Alert color="red" role="alert" title="Sign-in failed">
                  {error}
                </Alert>
              )}
              <TextInput
                label={useRecovery ? 'Recovery code' : 'Authentication code'}
                autoComplete="one-time-code"
                inputMode={useRecovery ? 'text' : 'numeric'}
                value={code}
                onChange={(e) => setCode(e.currentTarget.value)}
                data-autofocus
                required
              />
              <Button type="submit" loading={busy}>
                Verify
              </Button>
              <Anchor
                component="button"
                type="button"
                size="sm"
                onClick={() => {
                  setUseRecovery((v) => !v);
                  setCode('');
                }}
              >
                {useRecovery ? 'Use the authenticator app instead' : 'Use a recovery code instead'}
              </Anchor>
            </Stack>
          </form>
        </Paper>
      </Center>
    );

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={400}>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              const second = await signIn(email, password);
              if (second) {
                setChallenge(second.mfa_token);
                return;
              }
              navigate(target, { replace: true });
            } catch (err) {
              setError(err instanceof ApiError ? err.message : 'Could not reach the server.');
            } finally {
              setBusy(false);
            }
          }}
        >
          <Stack>
            <div>
              <Title order={1} size="h2">
                Sign in to Loupe
              </Title>
              <Text size="sm" c="dimmed">
                Use the administrator credentials printed when the server first started, or your own account.
              </Text>
            </div>
            {ended && !error && (
              <Alert color="yellow" role="status" title={ended === 'expired' ? 'Your session expired' : 'You were signed out'}>
                {ended === 'expired'
                  ? 'For your security, sessions end after a while. Sign in again to carry on where you were.'
                  : 'Your session was ended (signed out elsewhere, or by an administrator). Sign in again to continue.'}
              </Alert>
            )}
            {error && (
              <Alert color="red" role="alert" title="Sign-in failed">
                {error}
              </Alert>
            )}
            <TextInput
              label="E-mail"
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              required
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              required
            />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
            <Anchor component={Link} to="/reset-password" size="sm">
              Forgot your password?
            </Anchor>
            <Anchor component={Link} to="/register" size="sm">
              New here? Create an account
            </Anchor>
          </Stack>
        </form>
        <Divider my="md" label="or" labelPosition="center" />
        <SingleSignOnButtons next={target} />
      </Paper>
    </Center>
  );
}
