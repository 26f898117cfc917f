import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DataDirLock, lockDataDir } from '../src/platform/data-dir.lock.ts';
import { killLiveProcesses } from './children.ts';
import { runCli } from './processes.ts';

/**
 * Every `loupe` command that opens the embedded database, run while a server holds the data folder: each is refused,
 * naming the server, before it loads the database code or the app (src/cli/shared.ts). Loading them first made each
 * refusal cost 1.4-5 s of CPU (12-14 s on a loaded machine for `admin create` or `worker`) for nothing. What a
 * command loaded is read from the resolve hook of test/module-log.mjs. The lock is this test process's, as a server
 * would hold it. No database: the PGlite pass only runs it (not an .int file).
 */
afterAll(killLiveProcesses);

const MODULE_LOG_PRELOAD = path.resolve(import.meta.dirname, 'module-log.mjs');
/** What a refused command must not have loaded: the app, a domain module (its schema files are contracts), the database code. */
const HEAVY = [
  /\/src\/app\.ts$/,
  /\/src\/modules\/(?!.*\.schemas\.ts$)/,
  /\/src\/platform\/database\.ts$/,
  /\/@electric-sql\/pglite\//,
  /\/drizzle-orm\//,
];

describe('commands refused beside a running server', () => {
  let root: string;
  let dataDir: string;
  let lock: DataDirLock;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-refusals-'));
    dataDir = path.join(root, 'data');
    lock = await lockDataDir(dataDir, { command: 'serve' });
    await lock.setPort(8123);
  });
  afterAll(async () => {
    await lock?.release();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('refuse, naming the server, before loading the database code or the app', async () => {
    const commands: [file: string, args: string[]][] = [
      ['migrate', ['migrate']],
      ['admin', ['admin', 'create', '--email', 'x@y.test']],
      ['worker', ['worker']],
      ['serve', ['serve']],
      ['restore', ['restore', path.join(dataDir, 'loupe.lock.json')]],
      ['export', ['export', '--tenant', 'acme']],
      ['citus-plan', ['citus-plan']],
    ];
    const outs = await Promise.all(
      commands.map(async ([file, args]) => {
        const log = path.join(root, `${file}.modules`);
        const out = await runCli(dataDir, args, { NODE_OPTIONS: `--import=${MODULE_LOG_PRELOAD}`, LOUPE_MODULE_LOG: log });
        const modules = (await fs.readFile(log, 'utf8').catch(() => '')).split('\n');
        return { file, args, out, modules };
      }),
    );
    for (const { file, args, out, modules } of outs) {
      const what = args.join(' ');
      expect(out.code, `${what}: ${out.stderr}`).toBe(1);
      expect(out.stderr, what).toMatch(new RegExp(`a Loupe server \\(pid ${process.pid}, port 8123\\) is using .*: stop it first`));
      // The log works: it saw the command's own file.
      expect(
        modules.some((m) => m.endsWith(`/src/cli/${file}.ts`)),
        what,
      ).toBe(true);
      expect(
        modules.filter((m) => HEAVY.some((h) => h.test(m))),
        what,
      ).toEqual([]);
    }
  }, 60_000);
});
