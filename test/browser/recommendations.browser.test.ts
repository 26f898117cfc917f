import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * The Recommendations page (issue 20): the training-length field only for models that take one, a
 * confirmation that says what "Deploy when done" does, try-it refreshed after a deploy, a versions table
 * that fits a desktop screen and says which version is better, and a progress chart that does not draw
 * metrics carried over from an earlier step as flat lines.
 */
describe.skipIf(!HAS_CHROMIUM)('recommendations page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer({ jobs: { concurrency: 1 } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Lamp Shop');
    // A small shop: 8 items, 24 customers who viewed and bought some of them.
    const key = await owner.apiKey(['interactions:write', 'catalog:write']);
    const items = Array.from({ length: 8 }, (_, i) => ({
      item_id: `P-${i}`,
      name: `Product ${i}`,
      category: i < 4 ? 'Lamps' : 'Desks',
      price: 10 + i,
    }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token: key, body: items })).status).toBeLessThan(300);
    const events = [];
    for (let u = 0; u < 24; u++)
      for (let k = 0; k < 4; k++)
        events.push({
          user_id: `u-${u}`,
          item_id: `P-${(u + k * (1 + (u % 3))) % 8}`,
          interaction_type: k === 0 ? 'purchase' : 'view',
          timestamp: new Date(Date.now() - (u * 4 + k) * 60_000).toISOString(),
        });
    expect((await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } })).status).toBeLessThan(300);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  async function chooseModel(page: Page, label: string) {
    await page.getByRole('textbox', { name: 'Model' }).click();
    await page.getByRole('option', { name: label }).click();
  }

  async function trainAndWait(page: Page, confirm: string | RegExp) {
    const before = new URL(page.url()).searchParams.get('job');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('button', { name: confirm }).click();
    await page.waitForURL((u) => !!u.searchParams.get('job') && u.searchParams.get('job') !== before, { timeout: 20_000 });
    await page.locator('[data-testid="training-progress"][data-status="completed"]').waitFor({ timeout: 120_000 });
  }

  it('offers the length field per model, confirms the deploy, refreshes try-it and says which version is better', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/recommendations',
    });

    // Automatic picks its own settings; iALS takes iterations (it rejects epochs); LightGCN takes epochs.
    await page.getByRole('button', { name: 'Start training' }).waitFor();
    expect(await page.getByLabel('Epochs').count()).toBe(0);
    await chooseModel(page, 'Implicit ALS');
    expect(await page.getByLabel('Epochs').count()).toBe(0);
    await page.getByRole('textbox', { name: 'Iterations' }).waitFor();
    await chooseModel(page, 'LightGCN');
    await page.getByRole('textbox', { name: 'Epochs' }).waitFor();
    await chooseModel(page, 'Automatic (best for the data)');

    // Try-it before any model: the cold-start answer (what recent shoppers touched), and the page says so.
    await page.getByLabel('Recommendations for user').fill('u-3');
    await page.getByRole('button', { name: 'Recommend' }).click();
    await page.waitForURL(/user=u-3/);
    await page
      .getByTestId('recs-strategy')
      .getByText(/No model serves yet.*trending/)
      .waitFor({ timeout: 15_000 });
    await page.getByTestId('recs-table').locator('tbody tr').first().waitFor();

    // No version live: deploying serves everyone, and the page asks first.
    await expect(page.getByLabel(/Deploy when done/).getAttribute('checked')).resolves.not.toBeUndefined();
    await page.getByText(/serves everyone as soon as it is trained/).waitFor();
    await trainAndWait(page, 'Train and deploy');
    // Try-it asks the new version without another click: the cold-start note goes, the model's list stays.
    await page.getByTestId('recs-strategy').waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByTestId('recs-table').locator('tbody tr').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('versions-table').getByText('live', { exact: true }).waitFor({ timeout: 15_000 });
    await page
      .getByTestId('version-verdict')
      .getByText(/best one trained so far|recommended/)
      .waitFor();

    // With a version live, "Deploy when done" is a 10 % canary, and the confirmation says so.
    await page.getByText(/starts a 10 % canary/).waitFor();
    await chooseModel(page, 'Implicit ALS');
    await page.getByRole('textbox', { name: 'Iterations' }).fill('3');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect(page.getByTestId('deploy-confirm-text').textContent()).resolves.toMatch(/10 % canary/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await trainAndWait(page, /Train and start the 10 % canary/);
    const table = page.getByTestId('versions-table');
    // (The maintenance job may promote or stop the canary at once on so little traffic: two versions, one live.)
    await table.locator('tbody tr').nth(1).waitFor({ timeout: 15_000 });
    await table.getByText('recommended', { exact: true }).waitFor();

    // At desktop width the table fits: Deploy is on screen and no badge is cut.
    const deploy = page.getByRole('button', { name: /^Deploy v/ }).first();
    const box = (await deploy.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    const fits = await table.evaluate((el) => {
      const scroller = el.closest('.table-scroll') ?? el.parentElement!;
      const cut = Array.from(el.querySelectorAll('.mantine-Badge-label'))
        .filter((b) => b.scrollWidth > b.clientWidth + 1)
        .map((b) => b.textContent);
      return { overflow: scroller.scrollWidth - scroller.clientWidth, cut };
    });
    expect(fits).toEqual({ overflow: 0, cut: [] });
    await screenshot(page, 'recommendations-versions');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'recommendations-phone');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  }, 300_000);

  it('an automatic run compares candidates instead of drawing carried-over metrics as flat lines', async () => {
    // The progress answers of an automatic run as the server gives them: progress is merged step by step,
    // so the validation of an evaluated candidate stays in the answer while the next model trains.
    const val = (ndcg: number, recall: number) => ({ 'val_ndcg@10': ndcg, 'val_recall@20': recall });
    const step = (phase: string, epoch: number | null, metrics: Record<string, number>, status = 'training') => ({
      job_id: 'replayed-job',
      status,
      progress: 0.5,
      phase,
      current_epoch: epoch,
      total_epochs: epoch === null ? null : 3,
      metrics,
      estimated_completion: null,
      model_version: null,
      model_version_id: null,
      final_metrics: null,
      model_location: null,
      deployment_status: null,
      error: null,
    });
    const answers = [
      step('evaluated popularity', null, val(0.05, 0.1)),
      step('evaluated item_knn', null, val(0.08, 0.15)),
      step('training ials', 1, { train_loss: 10, ...val(0.08, 0.15) }),
      step('training ials', 2, { train_loss: 8, ...val(0.08, 0.15) }),
      step('training ials', 3, { train_loss: 7, ...val(0.08, 0.15) }),
      step('evaluated ials', 3, { train_loss: 7, ...val(0.07, 0.14) }),
    ];
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    let n = 0;
    await page.route('**/api/v1/training/replayed-job/progress', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answers[Math.min(n++, answers.length - 1)]) }),
    );
    await page.goto(`${base}/recommendations?job=replayed-job`);
    const candidates = page.getByTestId('candidates');
    await candidates.locator('tbody tr').nth(2).waitFor({ timeout: 30_000 });
    await candidates
      .getByRole('row', { name: /Item k-NN/ })
      .getByText('best')
      .waitFor();
    const chart = page.getByRole('img', { name: /by epoch/ });
    await chart.waitFor();
    const legend = await chart.locator('.u-legend').textContent();
    expect(legend).toContain('Training loss');
    expect(legend).not.toMatch(/Ranking quality|Finds what they buy|val_/);
    await screenshot(page, 'recommendations-auto-progress');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
