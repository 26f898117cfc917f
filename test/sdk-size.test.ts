import { describe, expect, it } from 'vitest';
import { BUDGET_GZIP_BYTES, measureClient, measureEntry, measureTrackOnly } from '../bench/sdk/size.ts';

/** Issue 15's budget, checked in CI: what a store's page loads stays small and carries no dependency. */
describe('SDK size (bench/sdk)', () => {
  it('the typed client is in the full ESM bundle (so its absence above means tree-shaking, not a missing client)', async () => {
    const m = await measureClient();
    expect(m.text).toContain('/api/v1/webhooks/endpoints');
    expect(m.text).toContain('idempotency-key');
  });

  it('the script-tag entry (tracker + widget) is under 12 kB gzip -9 and bundles nothing but the SDK', async () => {
    const m = await measureEntry();
    expect(m.gzip).toBeLessThan(BUDGET_GZIP_BYTES);
    expect(m.gzip).toBeGreaterThan(1000); // a real build, not an empty file
    expect(m.inputs.filter((f) => !f.startsWith('sdk/src/'))).toEqual([]);
  });

  it('tree-shakes: a page that only tracks ships neither the typed client nor the widget', async () => {
    const m = await measureTrackOnly();
    expect(m.text).toContain('/v1/batch');
    expect(m.text).not.toContain('idempotency-key');
    expect(m.text).not.toContain('/api/v1/webhooks/endpoints'); // the typed client's endpoints
    expect(m.text).not.toContain('LoupePaginationError');
    expect(m.text).not.toContain('loupe-recommendations');
    expect(m.inputs.filter((f) => f.startsWith('node_modules'))).toEqual([]);
  });
});
