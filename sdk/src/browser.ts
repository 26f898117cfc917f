import { createTracker, type Tracker, type TrackerOptions } from './tracker.ts';
import { defineWidget } from './widget.ts';

/**
 * The entry a store loads with one script tag (built as the IIFE `dist/loupe.js`, global `Loupe`):
 *
 *   <script src="https://loupe.example.com/sdk/loupe.js" data-key="pk_live_..." async></script>
 *
 * reads its publishable key from `data-key` (and Loupe's host from the script's own URL, or `data-host`),
 * starts the tracker, records the page view unless `data-page="false"`, and defines `<loupe-recommendations>`.
 * `data-consent="required"` holds everything until `Loupe.consent.grant([...])`. Nothing here throws.
 */
export interface LoupeBrowser extends Tracker {
  /** (Re)configures by hand instead of from the script tag. */
  init(options: TrackerOptions & { page?: boolean }): LoupeBrowser;
}

let tracker: Tracker | undefined;

export function init(options: TrackerOptions & { page?: boolean }): Tracker {
  tracker = createTracker(options);
  defineWidget({ host: options.host, writeKey: options.writeKey, tracker });
  if (options.page !== false) tracker.page();
  return tracker;
}

function fromScriptTag(): Tracker | undefined {
  try {
    const script = document.currentScript as HTMLScriptElement | null;
    const key = script?.dataset.key;
    if (!script || !key) return undefined;
    const host = script.dataset.host ?? new URL(script.src, location.href).origin;
    return init({ writeKey: key, host, requireConsent: script.dataset.consent === 'required', page: script.dataset.page !== 'false' });
  } catch {
    return undefined;
  }
}

fromScriptTag();

/** The global API: the tracker's calls, once configured; quiet no-ops before. */
export const loupe = new Proxy({} as LoupeBrowser, {
  get(_t, prop) {
    if (prop === 'init') return init;
    const target = tracker as unknown as Record<string | symbol, unknown> | undefined;
    const v = target?.[prop];
    if (typeof v === 'function') return v;
    if (v !== undefined) return v;
    if (prop === 'consent') return { grant() {}, revoke() {}, require() {} };
    return () => undefined;
  },
});
