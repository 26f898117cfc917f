/**
 * Prints the SDK's sizes against its budget and Segment's entry (see size.ts). Run: npm run bench:sdk.
 * The same checks run as a test (test/sdk-size.test.ts), so CI fails when the budget is exceeded.
 */
import { BUDGET_GZIP_BYTES, measureBaseline, measureClient, measureEntry, measureTrackOnly } from './size.ts';

const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const entry = await measureEntry();
const trackOnly = await measureTrackOnly();
const client = await measureClient();
const baseline = await measureBaseline();
console.log(`script-tag entry (tracker + widget): ${kb(entry.raw)} minified, ${kb(entry.gzip)} gzip -9 (budget ${kb(BUDGET_GZIP_BYTES)})`);
console.log(`ESM, tracker only:                   ${kb(trackOnly.raw)} minified, ${kb(trackOnly.gzip)} gzip -9`);
console.log(`ESM, typed client only:              ${kb(client.raw)} minified, ${kb(client.gzip)} gzip -9`);
if (baseline) {
  console.log(`@segment/analytics-next entry:       ${kb(baseline.raw)} minified, ${kb(baseline.gzip)} gzip -9`);
  console.log(`ratio (Loupe / Segment, gzip):        ${(entry.gzip / baseline.gzip).toFixed(2)}`);
} else console.log('@segment/analytics-next is not installed: no baseline measured (the issue quotes 16.2 kB gzip).');
if (entry.gzip > BUDGET_GZIP_BYTES) {
  console.error('over budget');
  process.exitCode = 1;
}
