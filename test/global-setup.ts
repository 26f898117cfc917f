import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateDatabase, openDatabase } from '../src/platform/database.ts';

/**
 * Migrates ONE template database per test run, then every test file clones it (see helpers.ts):
 * - embedded (default): a PGlite data directory dumped to a tarball that each file loads;
 * - PostgreSQL (LOUPE_TEST_DB=postgres, TEST_DATABASE_URL): a template database each file copies
 *   with CREATE DATABASE ... TEMPLATE, dropped at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const target = process.env.LOUPE_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  project.provide('dbTarget', target);
  project.provide('runId', runId);

  // The no-shared pass selects only tests that skip (scripts/test.mjs): no file opens a database there.
  if (process.env.LOUPE_TEST_NO_DATABASE === '1') return async () => undefined;

  if (target === 'pglite') {
    const database = await openDatabase({ kind: 'pglite' });
    await migrateDatabase(database);
    const dump = await database.pglite!.dumpDataDir('none');
    const file = path.join(os.tmpdir(), `loupe-test-template-${runId}.tar`);
    await fs.writeFile(file, Buffer.from(await dump.arrayBuffer()));
    await database.close();
    project.provide('pgliteTemplate', file);
    return async () => {
      await fs.rm(file, { force: true });
      // The migrated data folder test/processes.ts builds for real-process tests, when one of them ran.
      await fs.rm(path.join(os.tmpdir(), `loupe-proc-template-${runId}`), { recursive: true, force: true });
    };
  }

  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('LOUPE_TEST_DB=postgres needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  const template = `loupe_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  const tplUrl = new URL(url);
  tplUrl.pathname = `/${template}`;
  const database = await openDatabase({ kind: 'postgres', url: tplUrl.toString(), poolSize: 1 });
  await migrateDatabase(database);
  await database.close();
  project.provide('pgTemplate', template);
  project.provide('pgUrl', url);
  return async () => {
    const leftovers = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `loupe_t_${runId}_%`,
    ]);
    // The files' databases their processes had not dropped yet (helpers.ts drops them in the background), side by side:
    // each DROP DATABASE waits for a checkpoint, and drops asking at once share one.
    await Promise.all(
      leftovers.rows.map(async ({ datname }) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      }),
    );
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dbTarget: 'pglite' | 'postgres';
    runId: string;
    pgliteTemplate: string;
    pgTemplate: string;
    pgUrl: string;
  }
}
