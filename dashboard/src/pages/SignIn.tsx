import { useState } from 'react';
import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError, session } from '../api/client.ts';
import { safeNext } from '../lib/next.ts';
import { useSession } from '../session.tsx';

export function SignInPage() {
  const { signedIn, signIn } = useSession();
  const navigate = useNavigate();
  const [sp] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const target = safeNext(sp.get('next'));
  const ended = session.endReason();
  if (signedIn && !busy) return <Navigate to={target} replace />;

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={400}>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await signIn(email, password);
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
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
