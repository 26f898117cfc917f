import { describe, expect, it } from 'vitest';
import { gs1CheckDigitValid, isFeedUrl, parseFeedPrice, PRECHECK_RULE_IDS, precheckFeed } from './feeds.precheck.core.ts';
import { FIXTURE_TAXONOMY, VALID_FIXTURES, VALID_ITEM, VIOLATION_FIXTURES } from './feeds.precheck.fixtures.ts';

describe('feed precheck: fixture suite', () => {
  // One feed holding every fixture: cross-item rules (repeated ids, variants) see each other as in real feeds.
  const fixtures = [...VALID_FIXTURES, ...VIOLATION_FIXTURES];
  const feed = fixtures.flatMap((f) => f.items);
  const report = precheckFeed(feed, { targetCountry: 'US', taxonomy: FIXTURE_TAXONOMY });

  it('agrees with every fixture: 100% (valid items clean, each violation exactly its rule)', () => {
    let at = 0;
    const disagreements: string[] = [];
    for (const f of fixtures) {
      for (const _ of f.items) {
        const got = report.items[at++]!.issues.map((i) => i.rule).sort();
        if (JSON.stringify(got) !== JSON.stringify([...f.expect].sort())) disagreements.push(`${f.name}: got ${got.join(',') || 'none'}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('covers every rule with a fixture, and counts per rule and per status', () => {
    const covered = new Set(VIOLATION_FIXTURES.flatMap((f) => f.expect));
    expect(PRECHECK_RULE_IDS.filter((r) => !covered.has(r))).toEqual([]);
    const validCount = VALID_FIXTURES.reduce((n, f) => n + f.items.length, 0);
    expect(report.summary.ok).toBe(validCount);
    expect(report.summary.warnings).toBe(1); // google_product_category_unknown is the one warning-level rule
    expect(report.summary.items).toBe(feed.length);
    expect(report.summary.byRule.item_group_id_required).toBe(2);
    expect(report.summary.byRule.gtin_check_digit).toBe(1);
  });

  it('every issue names its attribute, a message and a fix', () => {
    for (const r of report.items) for (const i of r.issues) expect(i.attribute && i.message && i.fix).toBeTruthy();
  });
});

describe('feed precheck: rules in detail', () => {
  it('GS1 check digits against published examples', () => {
    // Wikipedia's EAN-13 (4006381333931), UPC-A (036000291452) and EAN-8 (96385074) examples, and a GTIN-14
    // 10012345678902: digits 1001234567890 weighted 3,1,3... from the left: 3+0+0+1+6+3+12+5+18+7+24+9+0 = 88 -> 2.
    for (const g of ['4006381333931', '036000291452', '96385074', '10012345678902']) expect(gs1CheckDigitValid(g)).toBe(true);
    for (const g of ['4006381333930', '036000291453', '96385075', '10012345678903']) expect(gs1CheckDigitValid(g)).toBe(false);
  });

  it('prices: exact minor units, currency of the country, huge and hostile amounts refused', () => {
    expect(parseFeedPrice('19.99 USD')).toEqual({ ok: true, minor: 1999n, currency: 'USD' });
    expect(parseFeedPrice('1500 jpy')).toEqual({ ok: true, minor: 1500n, currency: 'JPY' });
    expect(parseFeedPrice('19.999 USD').ok).toBe(false);
    expect(parseFeedPrice('0 USD').ok).toBe(false);
    expect(parseFeedPrice('99999999999999999999999 USD').ok).toBe(false);
    expect(parseFeedPrice('19.99 XXZ').ok).toBe(false);
    const r = precheckFeed([{ ...VALID_ITEM, price: '1500 JPY' }], { targetCountry: 'JP' });
    expect(r.items[0]!.issues.map((i) => i.rule)).toEqual([]);
    const ca = precheckFeed([{ ...VALID_ITEM, price: '129.00 USD', price_includes_tax: 'yes' }], { targetCountry: 'CA' });
    expect(ca.items[0]!.issues.map((i) => i.rule)).toEqual(['price_currency_country', 'price_tax_included']);
    // Tax-inclusive prices are the rule in Germany: not an issue there.
    const de = precheckFeed([{ ...VALID_ITEM, price: '129.00 EUR', price_includes_tax: 'yes' }], { targetCountry: 'DE' });
    expect(de.items[0]!.issues).toEqual([]);
  });

  it('URLs: scheme, host, spaces and length', () => {
    expect(isFeedUrl('https://shop.example.com/p?id=1')).toBe(true);
    expect(isFeedUrl('javascript:alert(1)')).toBe(false);
    expect(isFeedUrl('https://localhost/p')).toBe(false);
    expect(isFeedUrl(`https://shop.example.com/${'a'.repeat(2000)}`)).toBe(false);
  });

  it('script in every disguise is caught; plain HTML formatting is not', () => {
    for (const d of ['<SCRIPT src=x>', '< script>', '<a href="javascript:void(0)">x</a>', '<img src=x onerror=alert(1)>'])
      expect(precheckFeed([{ ...VALID_ITEM, description: d }], { targetCountry: 'US' }).items[0]!.issues.map((i) => i.rule)).toEqual([
        'description_script',
      ]);
    expect(precheckFeed([{ ...VALID_ITEM, description: '<p>Nice <em>sound</em></p>' }], { targetCountry: 'US' }).items[0]!.issues).toEqual(
      [],
    );
  });

  it('hostile text (NUL, lone surrogates, huge strings) yields issues, never a throw', () => {
    const r = precheckFeed(
      [{ ...VALID_ITEM, id: 'x\u0000y', title: '\ud800', price: `${'9'.repeat(400)} USD`, link: `https://\u0000.com` }],
      { targetCountry: 'US' },
    );
    expect(r.items[0]!.issues.map((i) => i.rule).sort()).toEqual(['link_invalid', 'price_invalid']);
  });

  it('variants: only items that carry a variant attribute and share a title need item_group_id', () => {
    const r = precheckFeed(
      [
        { ...VALID_ITEM, id: 'A', title: 'Mug', color: 'Red' },
        { ...VALID_ITEM, id: 'B', title: 'MUG', size: 'L' },
        { ...VALID_ITEM, id: 'C', title: 'Mug' },
        { ...VALID_ITEM, id: 'D', title: 'Plate', color: 'Red' },
      ],
      { targetCountry: 'US' },
    );
    expect(r.items.map((i) => i.issues.map((x) => x.rule).join())).toEqual(['item_group_id_required', 'item_group_id_required', '', '']);
  });

  it('without a taxonomy the category rule is skipped; with one, unknown ids and paths are warnings', () => {
    expect(precheckFeed([{ ...VALID_ITEM, google_product_category: '999999' }], { targetCountry: 'US' }).items[0]!.status).toBe('ok');
    const r = precheckFeed([{ ...VALID_ITEM, google_product_category: 'Electronics > Nonsense' }], {
      targetCountry: 'US',
      taxonomy: FIXTURE_TAXONOMY,
    });
    expect(r.items[0]!.status).toBe('warning');
  });
});
