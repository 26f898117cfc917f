import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 15: the package's type declarations. The build's .d.ts files are installed as `@loupe/sdk` in a scratch
 * project (package.json `exports` as shipped), and a consumer file is typechecked against them with strict
 * settings and no skipLibCheck by the TypeScript compiler a store would run: right uses compile, wrong ones
 * (`@ts-expect-error`) must fail to. Both steps run as child processes (each is seconds of CPU).
 */
const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
let dir: string;
let types: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-sdk-types-'));
  const pkg = path.join(dir, 'node_modules', '@loupe', 'sdk');
  types = path.join(pkg, 'dist', 'types');
  await run(process.execPath, [path.join(ROOT, 'sdk', 'build.types.mjs'), types], { cwd: ROOT });
  fs.copyFileSync(path.join(ROOT, 'sdk', 'package.json'), path.join(pkg, 'package.json'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'a-store', type: 'module', private: true }));
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONSUMER = `
import { createClient, createTracker, paginate, type Item, type LoupeError, type RecommendResponse } from '@loupe/sdk';
import { createServerTracker, verifyWebhook, type WebhookEndpointCreateBody } from '@loupe/sdk/node';

const client = createClient({ apiKey: 'sk_live_x', host: 'https://loupe.example.com' });
export async function use(): Promise<string[]> {
  const recs = await client.recommendations({ user_id: 'u1', count: 4 });
  const names: string[] = [];
  if (recs.ok) {
    const r: RecommendResponse = recs.data;
    for (const card of r.recommendations) names.push(card.item_id, card.name);
  } else {
    const e: LoupeError = recs.error;
    names.push(e.code, String(e.status));
  }
  for await (const item of client.items.all({ limit: 100 })) {
    const i: Item = item;
    names.push(i.item_id);
  }
  const page = await client.webhooks.deliveries.list({ limit: 10 });
  if (page.ok) names.push(...page.data.data.map((d) => d.id));
  for await (const n of paginate<number>(async () => ({ ok: true, data: { data: [1], next_cursor: null } }))) names.push(String(n));
  const body: WebhookEndpointCreateBody = { url: 'https://hooks.example.com/x', event_types: ['*'] };
  void body;
  const tracker = createTracker({ writeKey: 'pk_live_x', host: 'https://loupe.example.com' });
  tracker.track('Product Viewed', { product_id: 'sku-1' });
  tracker.consent.grant(['analytics']);
  const server = createServerTracker({ apiKey: 'sk_live_x', host: 'https://loupe.example.com' });
  server.track({ user_id: 'u1', item_id: 'sku-1', interaction_type: 'view' });
  const hook = await verifyWebhook<{ order_id: string }>('whsec_x', new Headers(), '{}');
  names.push(hook.data.order_id);

  // @ts-expect-error: recommendations take a body object
  await client.recommendations('u1');
  // @ts-expect-error: an unknown field of the contract
  await client.items.create({ item_id: 'x', name: 'x', colour_of_the_day: 'red' });
  // @ts-expect-error: results are values: data only after checking ok
  names.push(recs.data.recommendation_id);
  // @ts-expect-error: no such endpoint method
  await client.items.upload();
  return names;
}
`;

describe('SDK type declarations', () => {
  it('are self-contained: no zod, no server sources, no .ts specifiers', () => {
    const files = fs.readdirSync(types).filter((f) => f.endsWith('.d.ts'));
    expect(files.sort()).toEqual(
      expect.arrayContaining(['index.d.ts', 'node.d.ts', 'client.d.ts', 'contracts.d.ts', 'tracker.d.ts', 'widget.d.ts']),
    );
    for (const f of files) {
      const text = fs.readFileSync(path.join(types, f), 'utf8');
      expect(text, f).not.toMatch(/from ['"]zod['"]|\.\.\/\.\.\/src|['"]\.\/[\w.-]+\.ts['"]/);
    }
  });

  /**
   * One compiler run over both files (a program costs seconds of CPU): the consumer must compile cleanly and the
   * wrong use must fail, so the check is shown able to fail by the same run that passes it.
   */
  let compiled: { stdout: string; failed: boolean } | undefined;
  async function compile(): Promise<{ stdout: string; failed: boolean }> {
    if (compiled) return compiled;
    fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
    fs.writeFileSync(path.join(dir, 'wrong.ts'), "import { createClient } from '@loupe/sdk';\nvoid createClient({ host: 'x' });\n");
    const compilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022', 'DOM', 'DOM.Iterable', 'DOM.AsyncIterable'],
      types: [],
      noUncheckedIndexedAccess: true,
      listFiles: true,
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts', 'wrong.ts'] }));
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }).then(
      (r) => ({ stdout: r.stdout, failed: false }),
      (e: { stdout: string }) => ({ stdout: e.stdout, failed: true }),
    );
    return compiled;
  }
  const errorsIn = (stdout: string, file: string) => stdout.split('\n').filter((l) => l.startsWith(file) && l.includes('error TS'));

  it('typecheck a consumer through the package exports, strict and without skipLibCheck', async () => {
    const out = await compile();
    expect(errorsIn(out.stdout, 'consumer.ts')).toEqual([]);
    // The declarations were really the ones read (listFiles).
    expect(out.stdout).toContain('node_modules/@loupe/sdk/dist/types/client.d.ts');
  });

  it('a wrong use fails to typecheck (the check above can fail)', async () => {
    const out = await compile();
    expect(out.failed).toBe(true);
    expect(errorsIn(out.stdout, 'wrong.ts')).toHaveLength(1);
    expect(out.stdout).toMatch(/wrong\.ts\(\d+,\d+\): error TS2345.*apiKey/s);
  });
});
