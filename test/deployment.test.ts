/**
 * The deployment files (Dockerfile, compose.yaml) cannot be built or started on this machine (no container
 * runtime); what they call is tested here: the commands and options they run exist, every environment variable
 * they set is accepted by the configuration, and the health check script answers as Docker expects.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/platform/config.ts';

const root = path.resolve(import.meta.dirname, '..');
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const compose = fs.readFileSync(path.join(root, 'compose.yaml'), 'utf8');

/** The `x-loupe-env` block of compose.yaml as variables (the ${VAR:?...} interpolation given a value). */
function composeEnv(): Record<string, string> {
  const block = compose.split('x-loupe-env: &loupe-env\n')[1]!.split('\n\n')[0]!;
  const env: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const m = /^ {2}([A-Z_0-9]+): (.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.replace(/^"(.*)"$/, '$1');
    if (v.startsWith('${')) v = 'a'.repeat(64);
    env[m[1]!] = v;
  }
  return env;
}

const loupeCommands = (): string[][] =>
  [...compose.matchAll(/^ {4}command: (\[.*\])$/gm)].map((m) => JSON.parse(m[1]!) as string[]).filter((c) => c[0] !== 'server');

/** Runs the health check script (asynchronously: the test's own server must keep answering meanwhile). */
function runHealthcheck(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [path.join(root, 'scripts/healthcheck.mjs'), url], { timeout: 20_000 });
    child.on('exit', (code) => resolve(code));
  });
}

function loupe(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin/loupe.mjs'), ...args], { timeout: 150_000 }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

describe('deployment files', () => {
  it('the compose environment and the image defaults are a valid configuration (PostgreSQL, S3)', () => {
    const env = composeEnv();
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'LOUPE_S3_BUCKET', 'LOUPE_SECRETS_KEY']));
    const imageEnv = Object.fromEntries([...dockerfile.matchAll(/^\s+(?:ENV )?([A-Z_]+)=(\S+?)(?: \\)?$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(imageEnv).toMatchObject({ HOST: '0.0.0.0', PORT: '8000', LOUPE_DATA_DIR: '/data' });
    const config = loadConfig({ ...imageEnv, ...env });
    expect(config.database.kind).toBe('postgres');
    expect(config.objectStore).toMatchObject({ kind: 's3', bucket: 'loupe', endpoint: 'http://minio:9000' });
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.port).toBe(8000);
  });

  it('the image runs as a non-root user, in two stages, with the health check script and the loupe entry', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('CMD ["node", "scripts/healthcheck.mjs"]');
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/loupe.mjs"]');
    for (const f of ['bin/loupe.mjs', 'scripts/healthcheck.mjs', 'scripts/build-dashboard.mjs', 'sdk/build.mjs'])
      expect(fs.existsSync(path.join(root, f))).toBe(true);
  });

  it('every loupe command the compose file runs exists', async () => {
    const cmds = loupeCommands();
    expect(cmds).toEqual(expect.arrayContaining([['migrate'], ['serve', '--no-worker'], ['worker']]));
    // One start of the CLI (it loads the whole app); `serve --no-worker` and `worker` really run in test/scale.int.test.ts.
    const all = await loupe(['--help']);
    expect(all.code).toBe(0);
    for (const [cmd] of cmds) expect(all.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  }, 200_000);

  it('the health check exits 0 on a ready answer, 1 on 503 and when nothing listens', async () => {
    let status = 200;
    const server = http.createServer((_req, res) => res.writeHead(status).end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health/ready`;
    try {
      expect(await runHealthcheck(url)).toBe(0);
      status = 503;
      expect(await runHealthcheck(url)).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await runHealthcheck(url)).toBe(1);
  });
});
