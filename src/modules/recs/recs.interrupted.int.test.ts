import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('a training job whose process died', () => {
  it('shows interrupted as soon as the workers start again, not training until its lease expires', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const job = await t.jobs.enqueue(tenantId, 'recs.train', {
      modelType: 'auto',
      hyperparameters: {},
      trainingMode: 'full',
      autoDeploy: false,
    });
    // Its last attempt was running in a process of this host that no longer exists (killed during training).
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    await t.database.db.execute(
      sql`UPDATE jobs SET status = 'running', attempts = max_attempts, locked_by = ${`${hostname()}:${deadPid}:abcdef`},
                 locked_until = now() + interval '1 minute', progress = '{"phase": "training", "progress": 0.4}'::jsonb
          WHERE tenant_id = ${tenantId} AND id = ${job.id}`,
    );
    const progress = () => t.request('GET', `/api/v1/training/${job.id}/progress`, { token: ownerToken });
    expect((await progress()).body.status).toBe('training');
    t.jobs.start({ concurrency: 1 });
    try {
      let status = '';
      for (let i = 0; i < 100 && status !== 'interrupted'; i++) {
        status = (await progress()).body.status;
        if (status !== 'interrupted') await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe('interrupted');
    } finally {
      await t.jobs.stop();
    }
  });
});
