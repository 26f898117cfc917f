import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Alert, Button, Group, Modal, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  adoptTokens,
  fetchSession,
  session,
  signIn as apiSignIn,
  signInSecondStep,
  signOut as apiSignOut,
  type MfaChallenge,
  type StepUpProof,
} from './api/client.ts';
import type { SessionResponse, TokenResponse } from './api/types.ts';

interface SessionValue {
  signedIn: boolean;
  data: SessionResponse | undefined;
  loading: boolean;
  tenantId: string | null;
  tenant: SessionResponse['tenants'][number] | undefined;
  setTenant(id: string): void;
  /** Signs in; answers the challenge when the account needs a second step (two-factor sign-in). */
  signIn(email: string, password: string): Promise<MfaChallenge | undefined>;
  signInSecondStep(mfaToken: string, factor: { code: string } | { recovery_code: string }): Promise<void>;
  /** Takes the tokens of a sign-in made by another call (accepting an invitation link). */
  adopt(out: TokenResponse): void;
  signOut(): Promise<void>;
}

const Ctx = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}

/** Holds who is signed in and which tenant they are working in; owns the step-up password prompt. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const signedIn = useSyncExternalStore(session.subscribe, session.isSignedIn);
  const queryClient = useQueryClient();
  const [tenantId, setTenantId] = useState<string | null>(session.tenantId());
  const q = useQuery({ queryKey: ['session'], queryFn: fetchSession, enabled: signedIn, staleTime: 60_000 });

  // The remembered tenant must be one of this user's; otherwise fall back to the first.
  useEffect(() => {
    const d = q.data;
    if (!d) return;
    const known = d.tenants.some((t) => t.id === tenantId);
    if (!known) {
      const next = d.active_tenant_id ?? d.tenants[0]?.id ?? null;
      session.setTenant(next);
      setTenantId(next);
    }
  }, [q.data, tenantId]);

  const setTenant = useCallback(
    (id: string) => {
      session.setTenant(id);
      setTenantId(id);
      // Everything cached belongs to the previous tenant.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
    },
    [queryClient],
  );

  const value = useMemo<SessionValue>(
    () => ({
      signedIn,
      data: q.data,
      loading: q.isLoading,
      tenantId,
      tenant: q.data?.tenants.find((t) => t.id === tenantId),
      setTenant,
      async signIn(email, password) {
        // Clear before the tokens change: the session query starts as soon as we are signed in, and
        // clearing afterwards would orphan it.
        queryClient.clear();
        const out = await apiSignIn(email, password);
        if ('mfa_required' in out) return out;
        setTenantId(session.tenantId() ?? out.user.tenant_id);
        return undefined;
      },
      async signInSecondStep(mfaToken, factor) {
        queryClient.clear();
        const out = await signInSecondStep(mfaToken, factor);
        setTenantId(session.tenantId() ?? out.user.tenant_id);
      },
      adopt(out) {
        queryClient.clear();
        adoptTokens(out);
        setTenantId(out.user.tenant_id ?? session.tenantId());
      },
      async signOut() {
        await apiSignOut();
        setTenantId(null);
        queryClient.clear();
      },
    }),
    [signedIn, q.data, q.isLoading, tenantId, setTenant, queryClient],
  );

  return (
    <Ctx.Provider value={value}>
      {children}
      <StepUpPrompt twoFactor={!!q.data?.user.two_factor_enabled} />
    </Ctx.Provider>
  );
}

interface Pending {
  submit(proof: StepUpProof): Promise<void>;
  resolve(ok: boolean): void;
}

/**
 * The prompt shown when the server answers STEP_UP_REQUIRED for a sensitive action: the password, or with
 * two-factor sign-in on, the current code of the authenticator app.
 */
function StepUpPrompt({ twoFactor }: { twoFactor: boolean }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const pendingRef = useRef<Pending | null>(null);

  useEffect(() => {
    session.setStepUpPrompt(
      (submit) =>
        new Promise<boolean>((resolve) => {
          const p = { submit, resolve };
          pendingRef.current = p;
          setPassword('');
          setError(null);
          setPending(p);
        }),
    );
    return () => session.setStepUpPrompt(null);
  }, []);

  const close = (ok: boolean) => {
    pendingRef.current?.resolve(ok);
    pendingRef.current = null;
    setPending(null);
  };

  return (
    <Modal
      opened={pending !== null}
      onClose={() => close(false)}
      title={twoFactor ? 'Confirm it is you' : 'Confirm your password'}
      centered
    >
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!pending) return;
          setBusy(true);
          setError(null);
          try {
            await pending.submit(twoFactor ? { code: password.trim() } : { password });
            close(true);
          } catch (err) {
            setError(err instanceof ApiError ? err.message : 'Could not confirm the password.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <Text size="sm">
            {twoFactor
              ? 'This is a sensitive action. Enter the current code of your authenticator app to continue for the next few minutes.'
              : 'This is a sensitive action. Enter your password again to continue for the next few minutes.'}
          </Text>
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          {twoFactor ? (
            <TextInput
              label="Authentication code"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="one-time-code"
              inputMode="numeric"
              data-autofocus
              required
            />
          ) : (
            <PasswordInput
              label="Password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              autoComplete="current-password"
              data-autofocus
              required
            />
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => close(false)}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Confirm
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
