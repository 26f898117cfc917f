/**
 * The tracker's offline queue: events waiting for delivery, mirrored to local storage so a reload, a crash or
 * an offline period loses nothing. Capped by count and by bytes: when full, the OLDEST events are dropped and
 * counted (`dropped`), so a long outage costs old data, never the host page. Nothing here throws.
 */
export interface QueuedEvent {
  messageId: string;
  [key: string]: unknown;
}

export interface QueueLimits {
  /** Events kept at most (default 1000). */
  maxEvents: number;
  /** JSON bytes kept at most (default 400 kB, well under the usual 5 MB per origin). */
  maxBytes: number;
}

/** Local storage, or nothing (private mode, disabled storage, a sandboxed frame). */
function storage(): Storage | undefined {
  try {
    const s = globalThis.localStorage;
    return s ?? undefined;
  } catch {
    return undefined;
  }
}

export function createQueue(key: string, limits: QueueLimits) {
  let items: QueuedEvent[] = [];
  let sizes: number[] = [];
  let bytes = 0;
  let dropped = 0;
  // The events of a previous page that were not acknowledged: delivered again (the server dedupes by messageId).
  try {
    const raw = storage()?.getItem(key);
    const saved = raw ? (JSON.parse(raw) as { items?: unknown; dropped?: unknown }) : undefined;
    if (saved && Array.isArray(saved.items)) {
      for (const e of saved.items) {
        if (e && typeof e === 'object' && typeof (e as QueuedEvent).messageId === 'string') push(e as QueuedEvent);
      }
    }
    if (saved && typeof saved.dropped === 'number') dropped += saved.dropped;
  } catch {
    /* unreadable: start empty */
  }

  function push(e: QueuedEvent): void {
    const size = JSON.stringify(e).length;
    if (size > limits.maxBytes) {
      dropped++;
      return;
    }
    items.push(e);
    sizes.push(size);
    bytes += size;
    while (items.length > limits.maxEvents || bytes > limits.maxBytes) dropOldest();
  }
  function dropOldest(): void {
    items.shift();
    bytes -= sizes.shift() ?? 0;
    dropped++;
  }
  function save(): void {
    const s = storage();
    if (!s) return;
    // A full storage (other scripts of the page use it too) sheds our oldest events until the write fits.
    for (;;) {
      try {
        s.setItem(key, JSON.stringify({ items, dropped }));
        return;
      } catch {
        if (!items.length) return;
        dropOldest();
      }
    }
  }

  return {
    add(e: QueuedEvent): void {
      push(e);
      save();
    },
    /** Up to `maxEvents` oldest events whose JSON stays under `maxBytes` (at least one). */
    peek(maxEvents: number, maxBytes: number): QueuedEvent[] {
      const out: QueuedEvent[] = [];
      let total = 0;
      for (let i = 0; i < items.length && out.length < maxEvents; i++) {
        const size = sizes[i] ?? 0;
        if (out.length && total + size > maxBytes) break;
        out.push(items[i]!);
        total += size;
      }
      return out;
    },
    /** Removes delivered events by message id. */
    ack(ids: ReadonlySet<string>): void {
      const keep: number[] = [];
      items.forEach((e, i) => {
        if (!ids.has(e.messageId)) keep.push(i);
      });
      items = keep.map((i) => items[i]!);
      sizes = keep.map((i) => sizes[i]!);
      bytes = sizes.reduce((a, b) => a + b, 0);
      save();
    },
    get length(): number {
      return items.length;
    },
    get bytes(): number {
      return bytes;
    },
    /** Events dropped since the queue was first used on this origin (cap, storage full, oversized). */
    get dropped(): number {
      return dropped;
    },
    clear(): void {
      items = [];
      sizes = [];
      bytes = 0;
      save();
    },
  };
}
export type Queue = ReturnType<typeof createQueue>;
