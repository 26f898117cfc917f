/**
 * `@loupe/sdk` (ESM): import what a page needs; bundlers drop the rest (no side effects outside `browser.ts`).
 * The typed client is its own module, so a page that only tracks never ships it.
 */
export { createTracker, type CallOptions, type Tracker, type TrackerOptions } from './tracker.ts';
export { defineWidget, type WidgetConfig } from './widget.ts';
export { createClient, paginate, type Client, type ClientOptions, type LoupeError, type Result } from './client.ts';
