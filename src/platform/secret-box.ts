import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Encryption at rest for secrets Loupe must read back in clear (vendor webhook signing secrets: an HMAC
 * can only be checked with the key itself, so hashing is not an option).
 *
 * AES-256-GCM with a random 96-bit nonce per value; the sealed text names the key it was sealed with
 * (`enc:v1:<key id>:<base64url nonce|ciphertext|tag>`), so a key can be rotated: the new key goes in
 * LOUPE_SECRETS_KEY, the old one in LOUPE_SECRETS_KEY_PREVIOUS, and values are re-sealed at start.
 * Every value is bound to where it is stored (the `context`, e.g. `integration:<tenant>:<id>`) as
 * associated data: a sealed secret copied into another tenant's row does not open.
 */
export interface SecretBox {
  /** Id of the current key (8 hex digits of its hash); sealed values carry it. */
  readonly keyId: string;
  seal(plain: string, context: string): string;
  /** The clear value; throws SecretUnreadableError when no configured key opens it. */
  open(sealed: string, context: string): string;
  /** True when the value is not sealed with the current key (clear text from before encryption, or an old key). */
  needsReseal(value: string): boolean;
}

export class SecretUnreadableError extends Error {
  constructor(reason: string) {
    super(
      `a stored secret cannot be decrypted (${reason}); was LOUPE_SECRETS_KEY changed without setting LOUPE_SECRETS_KEY_PREVIOUS to the old key?`,
    );
    this.name = 'SecretUnreadableError';
  }
}

const PREFIX = 'enc:v1:';

/** A 32-byte key from configured text: 64 hex digits or 44 base64 characters are used as is, anything else (>= 32 characters) is hashed. */
export function keyFromText(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  return createHash('sha256').update(t, 'utf8').digest();
}

const keyIdOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export function createSecretBox(current: Buffer, previous: readonly Buffer[] = []): SecretBox {
  if (current.length !== 32) throw new Error('the secrets key must be 32 bytes');
  const keys = new Map<string, Buffer>();
  for (const k of [current, ...previous]) if (!keys.has(keyIdOf(k))) keys.set(keyIdOf(k), k);
  const keyId = keyIdOf(current);
  return {
    keyId,
    seal(plain, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${keyId}:${body.toString('base64url')}`;
    },
    open(sealed, context) {
      // Values written before encryption existed are clear text; they are re-sealed at start.
      if (!sealed.startsWith(PREFIX)) return sealed;
      const [kid, payload] = sealed.slice(PREFIX.length).split(':');
      const key = kid ? keys.get(kid) : undefined;
      if (!key || !payload) throw new SecretUnreadableError(`sealed with key ${kid ?? '?'}, which is not configured`);
      const body = Buffer.from(payload, 'base64url');
      if (body.length < 28) throw new SecretUnreadableError('truncated value');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - 16));
        return Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretUnreadableError('authentication failed: the value was altered or belongs to another record');
      }
    },
    needsReseal: (value) => !value.startsWith(`${PREFIX}${keyId}:`),
  };
}

/**
 * The secret box of this installation: LOUPE_SECRETS_KEY when configured, otherwise a key generated once
 * into `<data dir>/secrets.key` (mode 0600). Several hosts sharing one PostgreSQL must share the key:
 * configure it.
 */
export function loadSecretBox(opts: { configured: string | undefined; previous: string | undefined; dataDir: string }): SecretBox {
  const previous = opts.previous ? [keyFromText(opts.previous)] : [];
  if (opts.configured) return createSecretBox(keyFromText(opts.configured), previous);
  const file = path.join(opts.dataDir, 'secrets.key');
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    // Written aside, then linked into place: the link fails if another process won the race, and nobody
    // ever reads a half-written key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new Error(`${file} does not hold a 64-hex-digit key; restore it from a backup or set LOUPE_SECRETS_KEY`);
  return createSecretBox(keyFromText(text), previous);
}
