import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretUnreadableError, createSecretBox, keyFromText, loadSecretBox } from './secret-box.ts';

const A = keyFromText('a'.repeat(64));
const B = keyFromText('b'.repeat(64));

describe('secret box', () => {
  it('seals with a fresh nonce and opens only in the same context', () => {
    const box = createSecretBox(A);
    const s1 = box.seal('whsec_shopify_secret', 'integration:t1:c1');
    const s2 = box.seal('whsec_shopify_secret', 'integration:t1:c1');
    expect(s1).toMatch(new RegExp(`^enc:v1:${box.keyId}:[A-Za-z0-9_-]+$`));
    expect(s1).not.toBe(s2);
    expect(s1).not.toContain('shopify');
    expect(box.open(s1, 'integration:t1:c1')).toBe('whsec_shopify_secret');
    expect(() => box.open(s1, 'integration:t2:c1')).toThrow(SecretUnreadableError);
  });

  it('refuses altered and truncated values, and values sealed with an unknown key', () => {
    const box = createSecretBox(A);
    const sealed = box.seal('secret', 'ctx');
    const body = Buffer.from(sealed.split(':')[3]!, 'base64url');
    body[14] = body[14]! ^ 1;
    expect(() => box.open(`enc:v1:${box.keyId}:${body.toString('base64url')}`, 'ctx')).toThrow(/altered/);
    expect(() => box.open(`enc:v1:${box.keyId}:AAAA`, 'ctx')).toThrow(/truncated/);
    expect(() => createSecretBox(B).open(sealed, 'ctx')).toThrow(/not configured/);
  });

  it('opens values of the previous key during a rotation and says which values need re-sealing', () => {
    const old = createSecretBox(A);
    const sealed = old.seal('secret', 'ctx');
    const rotated = createSecretBox(B, [A]);
    expect(rotated.open(sealed, 'ctx')).toBe('secret');
    expect(rotated.needsReseal(sealed)).toBe(true);
    expect(rotated.needsReseal(rotated.seal('secret', 'ctx'))).toBe(false);
    // Clear text from before encryption existed reads as itself and needs sealing.
    expect(rotated.open('legacy-clear', 'ctx')).toBe('legacy-clear');
    expect(rotated.needsReseal('legacy-clear')).toBe(true);
  });

  it('reads keys as hex, base64 or a passphrase', () => {
    expect(keyFromText('0f'.repeat(32))).toEqual(Buffer.alloc(32, 0x0f));
    expect(keyFromText(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
    expect(keyFromText('a passphrase that is long enough!!')).toHaveLength(32);
    expect(() => createSecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('generates one key file (mode 0600) per data directory and reuses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-keys-'));
    try {
      const first = loadSecretBox({ configured: undefined, previous: undefined, dataDir: dir });
      const second = loadSecretBox({ configured: undefined, previous: undefined, dataDir: dir });
      expect(second.keyId).toBe(first.keyId);
      expect(second.open(first.seal('x', 'c'), 'c')).toBe('x');
      expect(fs.statSync(path.join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
      // A configured key wins over the file.
      expect(loadSecretBox({ configured: 'b'.repeat(64), previous: undefined, dataDir: dir }).keyId).toBe(createSecretBox(B).keyId);
      fs.writeFileSync(path.join(dir, 'secrets.key'), 'garbage');
      expect(() => loadSecretBox({ configured: undefined, previous: undefined, dataDir: dir })).toThrow(/LOUPE_SECRETS_KEY/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
