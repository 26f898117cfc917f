import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTracker } from '../sdk/src/tracker.ts';

/**
 * The tracker's session start in Node with a stand-in page (location, document, navigator, local storage) and fetch:
 * what it sends to POST /api/v1/analytics/session/start, above all the country: the one given, or the locale's region
 * only when asked for, never a guess. The same call against the real server: test/sdk-client.int.test.ts.
 */
describe('tracker: startSession and the country', () => {
  let sent: { url: string; headers: Record<string, string>; body: Record<string, unknown> }[];
  let language: string;

  beforeEach(() => {
    sent = [];
    language = 'fr-CA';
    const items = new Map<string, string>();
    vi.stubGlobal('location', {
      href: 'https://shop.test/?utm_source=news',
      pathname: '/',
      search: '?utm_source=news',
      protocol: 'https:',
    });
    vi.stubGlobal('document', { cookie: '', referrer: '', title: 'Shop' });
    vi.stubGlobal('navigator', {
      get language() {
        return language;
      },
      userAgent: 'test',
      onLine: true,
    });
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
      removeItem: (k: string) => void items.delete(k),
    });
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) });
      return new Response('{}', { status: 201 });
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const tracker = (o: { country?: string; countryFromLocale?: boolean; requireConsent?: boolean } = {}) =>
    createTracker({ writeKey: 'pk_test_1', host: 'https://loupe.test/', ...o });

  it("sends the session's ids, landing page and language, with the country given (upper-cased)", async () => {
    const t = tracker({ country: 'fr' });
    expect(await t.startSession()).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe('https://loupe.test/api/v1/analytics/session/start');
    expect(sent[0]!.headers.authorization).toBe('Bearer pk_test_1');
    expect(sent[0]!.body).toEqual({
      session_id: expect.any(String),
      anonymous_id: t.anonymousId,
      landing_url: 'https://shop.test/?utm_source=news',
      locale: 'fr-CA',
      country: 'FR',
    });
    // The call's own country wins over the option; one that is not two letters is not sent.
    await t.startSession({ country: 'de' });
    expect(sent[1]!.body.country).toBe('DE');
    await t.startSession({ country: 'Germany' });
    expect(sent[2]!.body.country).toBe('FR');
    expect(sent[2]!.body.session_id).toBe(sent[0]!.body.session_id); // the same 30-minute session
  });

  it("never guesses the country from the browser's language unless countryFromLocale asks for its region", async () => {
    await tracker().startSession();
    expect(sent[0]!.body).not.toHaveProperty('country');
    expect(sent[0]!.body.locale).toBe('fr-CA');

    await tracker({ countryFromLocale: true }).startSession();
    expect(sent[1]!.body.country).toBe('CA');
    language = 'zh-Hant-TW';
    await tracker({ countryFromLocale: true }).startSession();
    expect(sent[2]!.body.country).toBe('TW');
    language = 'fr'; // no region: no country
    await tracker({ countryFromLocale: true }).startSession();
    expect(sent[3]!.body).not.toHaveProperty('country');
    await tracker({ country: 'BE', countryFromLocale: true }).startSession();
    expect(sent[4]!.body.country).toBe('BE'); // the given country first
  });

  it('sends nothing without analytics consent, and answers false on a refusal or a network error', async () => {
    const t = tracker({ requireConsent: true, country: 'FR' });
    expect(await t.startSession()).toBe(false);
    expect(sent).toHaveLength(0);
    t.consent.grant(['analytics']);
    vi.stubGlobal('fetch', async () => new Response('{}', { status: 403 }));
    expect(await t.startSession()).toBe(false);
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('offline');
    });
    expect(await t.startSession()).toBe(false);
  });
});
