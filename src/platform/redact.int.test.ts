import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers.ts';
import { loggerOptions } from './logger.ts';

/** M5: a failed statement's values (e-mails, phones, key prefixes and hashes) never reach the log in clear. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

function capturedLogger(): { log: pino.Logger; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: pino(loggerOptions('info') as pino.LoggerOptions, sink), text: () => lines.join('\n') };
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the statement was expected to fail');
}

describe('database errors in the log', () => {
  it('carry no statement parameter and no detail value in clear, on either target', async () => {
    const email = 'jane.private@example.com';
    const phone = '+14155550123';
    const keyHash = 'a3f1c9e07b5d4e2f8a6b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f';
    const keyPrefix = 'sk_live_Zq7W';
    await t.database.db.execute(
      sql`INSERT INTO users (id, email, name, password_hash) VALUES (gen_random_uuid(), ${email}, ${phone}, 'x')`,
    );
    // A unique violation: the e-mail is in the parameters, the message and PostgreSQL's detail.
    const dup = await failure(() =>
      t.database.db.execute(sql`INSERT INTO users (id, email, name, password_hash) VALUES (gen_random_uuid(), ${email}, ${phone}, 'x')`),
    );
    // A type error on a key row: the prefix and the hash are parameters of the failed statement.
    const bad = await failure(() =>
      t.database.db.execute(
        sql`INSERT INTO api_keys (tenant_id, id, name, key_prefix, key_hash, scopes) VALUES ('not-a-uuid', gen_random_uuid(), 'k', ${keyPrefix}, ${keyHash}, '{}')`,
      ),
    );
    const { log, text } = capturedLogger();
    log.error({ err: dup }, 'unhandled error');
    log.error(bad, 'job failed');
    log.error({ error: dup, nested: { err: bad } }, 'elsewhere');
    const out = text();
    expect(out).toContain('unhandled error');
    expect(out).toMatch(/Failed query|duplicate key|users_email_key/); // still useful for an operator
    expect(out).toContain('<text:'); // parameter shapes are kept
    for (const secret of [email, 'jane.private', phone, '4155550123', keyHash, keyHash.slice(0, 16), keyPrefix]) {
      expect(out, secret).not.toContain(secret);
    }
  });

  it('keeps the message and the shape of an ordinary error', () => {
    const { log, text } = capturedLogger();
    log.error({ err: Object.assign(new Error('boom for jane@example.com'), { code: 'E_X', params: ['a@b.co', 42] }) }, 'x');
    const out = JSON.parse(text());
    expect(out.err).toMatchObject({ type: 'Error', code: 'E_X', params: ['<text:6>', '<number>'] });
    expect(out.err.message).toMatch(/^boom for <email:[0-9a-f]+>$/);
  });
});
