import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  checkUrlShape,
  matchesAny,
  newSecret,
  nextDelayMs,
  patternProblem,
  shouldDisable,
  signature,
  signatureHeader,
  truncateBody,
} from './webhooks.core.ts';

describe('signatures', () => {
  it('match the standardwebhooks package for random secrets, ids and bodies', () => {
    for (let i = 0; i < 20; i++) {
      const secret = newSecret();
      const id = `msg_${i}${Math.random().toString(36).slice(2)}`;
      const at = new Date(1_700_000_000_000 + i * 1000);
      const body = JSON.stringify({ type: 'x', data: { i, text: 'é ✓ \u2028' } });
      expect(signature(secret, id, Math.floor(at.getTime() / 1000), body)).toBe(new Webhook(secret).sign(id, at, body));
    }
  });

  it('sign with every secret given, space-separated, each verifiable alone', () => {
    const [a, b] = [newSecret(), newSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const header = signatureHeader([a, b], 'msg_1', ts, '{}');
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': header };
    expect(new Webhook(a).verify('{}', headers)).toEqual({});
    expect(new Webhook(b).verify('{}', headers)).toEqual({});
    expect(() => new Webhook(newSecret()).verify('{}', headers)).toThrow();
  });
});

describe('event types', () => {
  it('accepts *, known types and prefix wildcards; refuses the rest', () => {
    for (const ok of ['*', 'pricing.*', 'predictions.*', 'predictions.segment.*', 'pricing.price_alert.triggered'])
      expect(patternProblem(ok)).toBeNull();
    for (const bad of ['nope', 'nope.*', 'pricing.*.x', '*.triggered', 'pricing*', '']) expect(patternProblem(bad)).not.toBeNull();
  });
  it('matches exact names, families and everything, never a mere string prefix', () => {
    expect(matchesAny('pricing.price_alert.triggered', ['pricing.*'])).toBe(true);
    expect(matchesAny('pricing.price_alert.triggered', ['*'])).toBe(true);
    expect(matchesAny('pricing.price_alert.triggered', ['predictions.*', 'webhook.test'])).toBe(false);
    expect(matchesAny('pricingx.a', ['pricing.*'])).toBe(false);
  });
});

describe('retries and disabling', () => {
  const schedule = [60, 300, 1800];
  it('follows the schedule within ±20% jitter, then stops', () => {
    for (let n = 1; n <= 3; n++) {
      expect(nextDelayMs(n, schedule, 0)).toBe(schedule[n - 1]! * 800);
      expect(nextDelayMs(n, schedule, 0.999_999)).toBeLessThanOrEqual(schedule[n - 1]! * 1200);
    }
    expect(nextDelayMs(4, schedule, 0.5)).toBeNull();
    expect(nextDelayMs(0, schedule, 0.5)).toBeNull();
  });
  it('disables only after the configured days of failures', () => {
    const now = new Date('2026-12-10T00:00:00Z');
    expect(shouldDisable(null, now, 5)).toBe(false);
    expect(shouldDisable(new Date('2026-12-06T00:00:01Z'), now, 5)).toBe(false);
    expect(shouldDisable(new Date('2026-12-05T00:00:00Z'), now, 5)).toBe(true);
  });
});

describe('urls and bodies', () => {
  it('accepts http(s) URLs with a host and no credentials', () => {
    expect(checkUrlShape('https://example.com/hooks?x=1').ok).toBe(true);
    for (const bad of [
      'ftp://example.com',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'https://u:p@example.com',
      '/relative',
      `https://e.com/${'a'.repeat(2100)}`,
    ])
      expect(checkUrlShape(bad).ok, bad).toBe(false);
  });
  it('keeps at most 1 kB of a body without splitting a character or keeping NUL', () => {
    const body = Buffer.from(`${'a'.repeat(1023)}é${'b'.repeat(100)}`);
    const kept = truncateBody(body);
    expect(kept).toBe('a'.repeat(1023));
    expect(truncateBody(Buffer.from('ok\u0000'))).toBe('ok');
  });
});
