import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Alert, Button, Group, Modal, PasswordInput, Stack, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, adoptTokens, fetchSession, session, signIn as apiSignIn, signOut as apiSignOut } from './api/client.ts';
import type { SessionResponse, TokenResponse } from './api/types.ts';

interface SessionValue {
  signedIn: boolean;
  data: SessionResponse | undefined;
  loading: boolean;
  tenantId: string | null;
  tenant: SessionResponse['tenants'][number] | undefined;
  setTenant(id: string): void;
  signIn(email: string, password: string): Promise<void>;
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
      <StepUpPrompt />
    </Ctx.Provider>
  );
}

interface Pending {
  submit(password: string): Promise<void>;
  resolve(ok: boolean): void;
}

/** The password prompt shown when the server answers STEP_UP_REQUIRED for a sensitive action. */
function StepUpPrompt() {
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
    <Modal opened={pending !== null} onClose={() => close(false)} title="Confirm your password" centered>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!pending) return;
          setBusy(true);
          setError(null);
          try {
            await pending.submit(password);
            close(true);
          } catch (err) {
            setError(err instanceof ApiError ? err.message : 'Could not confirm the password.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <Text size="sm">This is a sensitive action. Enter your password again to continue for the next few minutes.</Text>
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          <PasswordInput
            label="Password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            autoComplete="current-password"
            data-autofocus
            required
          />
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
