import { useEffect, useSyncExternalStore } from 'react';
import { CloseButton, Group, Paper, Text } from '@mantine/core';

/**
 * Success toasts: one store, one region. `toast(message)` from anywhere (the query client calls it after every
 * successful mutation, with the mutation's `meta.success` or "Saved"); `<Toaster />` renders them in a polite live
 * region (role="status"), so a screen reader announces each without moving focus. Each closes by its button, by
 * Escape, or by itself after a few seconds; at most three are shown, newest last.
 */
export interface Toast {
  id: number;
  message: string;
}

const SHOWN_MS = 5000;
const MAX_SHOWN = 3;
let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const emit = () => {
  for (const l of listeners) l();
};

/** Shows a success message; returns its id (for `dismissToast`). */
export function toast(message: string): number {
  const id = nextId++;
  toasts = [...toasts, { id, message }].slice(-MAX_SHOWN);
  emit();
  return id;
}

export function dismissToast(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => void listeners.delete(l);
};

function ToastItem({ t }: { t: Toast }) {
  useEffect(() => {
    const timer = setTimeout(() => dismissToast(t.id), SHOWN_MS);
    return () => clearTimeout(timer);
  }, [t.id]);
  return (
    <Paper shadow="md" p="sm" withBorder className="toast" data-testid="toast">
      <Group justify="space-between" wrap="nowrap" gap="xs">
        <Text size="sm">✓ {t.message}</Text>
        <CloseButton size="sm" aria-label="Dismiss" onClick={() => dismissToast(t.id)} />
      </Group>
    </Paper>
  );
}

export function Toaster() {
  const shown = useSyncExternalStore(subscribe, () => toasts);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && toasts.length) dismissToast(toasts[toasts.length - 1]!.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div role="status" aria-live="polite" className="toasts" data-testid="toasts">
      {shown.map((t) => (
        <ToastItem key={t.id} t={t} />
      ))}
    </div>
  );
}
