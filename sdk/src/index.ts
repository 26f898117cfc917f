/**
 * `@loupe/sdk` (ESM): import what a page needs; bundlers drop the rest (no side effects outside `browser.ts`).
 * The typed client is its own module, so a page that only tracks never ships it.
 */
export { createTracker, type CallOptions, type Tracker, type TrackerOptions } from './tracker.ts';
export { defineWidget, type WidgetConfig } from './widget.ts';
export {
  createClient,
  LoupePaginationError,
  paginate,
  type Client,
  type ClientOptions,
  type LoupeError,
  type Page,
  type PageItem,
  type Result,
} from './client.ts';
/** The API's request and response types (from Loupe's contracts; the one list is in contracts.ts). */
export type * from './contracts.ts';
