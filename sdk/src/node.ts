import type { InteractionBody as InteractionInput } from './contracts.ts';
import { createClient, type ClientOptions } from './client.ts';

/**
 * Server-side conveniences: tracking with a secret key, batched (up to 100 events or `flushInterval` ms),
 * each event with an `event_id` so a retried batch is stored once. Sends run one at a time, in order;
 * `flush()` and `close()` resolve once every event tracked before them is stored or given up on.
 */
export function createServerTracker(opts: ClientOptions & { flushInterval?: number }) {
  const client = createClient(opts);
  let pending: InteractionInput[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** Settled since the last flush() the caller awaited. */
  let sent = 0;
  let failed = 0;
  let chain: Promise<void> = Promise.resolve();

  /** Queues a drain of what waits behind the sends already running. */
  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    chain = chain.then(async () => {
      while (pending.length) {
        const batch = pending.slice(0, 100);
        pending = pending.slice(100);
        const r = await client.interactions.batch(batch);
        if (r.ok) sent += batch.length;
        else {
          failed += batch.length;
          failures += batch.length;
        }
      }
    });
    return chain;
  }

  /** Sends what waits; resolves with the events stored and given up on since the previous flush(). */
  async function flush(): Promise<{ sent: number; failed: number }> {
    await drain();
    const out = { sent, failed };
    sent = 0;
    failed = 0;
    return out;
  }

  return {
    track(event: InteractionInput): void {
      pending.push({ ...event, event_id: event.event_id ?? crypto.randomUUID() });
      if (pending.length >= 100) void drain();
      else timer ??= setTimeout(() => void drain(), opts.flushInterval ?? 2000);
    },
    flush,
    /** Events that could not be delivered after the client's retries, since the start. */
    get failures(): number {
      return failures;
    },
    close: flush,
  };
}
export { createClient, LoupePaginationError, paginate, type Client, type ClientOptions, type LoupeError, type Page, type Result } from './client.ts';
/** The API's request and response types (the one list is in contracts.ts). */
export type * from './contracts.ts';
export { verifyWebhook, WebhookVerificationError } from './webhooks.ts';
export type { VerifiedWebhook, WebhookVerificationCode } from './webhooks.ts';
