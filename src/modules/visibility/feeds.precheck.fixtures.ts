/**
 * The precheck's fixture suite: valid products, and one product per rule that breaks exactly that rule once
 * (the variant rule needs two products sharing a title, so its fixture has two). Used by the unit test
 * (agreement must be 100%) and by bench/feeds to build large feeds with every rule violated somewhere.
 */
import type { FeedItem, PrecheckRule } from './feeds.precheck.core.ts';

/** A small taxonomy with real Google ids and paths (from taxonomy-with-ids.en-US.txt, 2021-09-21). */
export const FIXTURE_TAXONOMY: ReadonlyMap<number, string> = new Map([
  [166, 'Apparel & Accessories'],
  [1604, 'Apparel & Accessories > Clothing'],
  [212, 'Apparel & Accessories > Clothing > Shirts & Tops'],
  [222, 'Electronics'],
  [543626, 'Electronics > Audio > Audio Components > Headphones & Headsets > Headphones'],
]);

export const VALID_ITEM: FeedItem = {
  id: 'SKU-1',
  title: 'Studio Headphones X1',
  description: 'Closed-back studio headphones with a 3 m cable.',
  link: 'https://shop.example.com/p/sku-1',
  image_link: 'https://cdn.example.com/img/sku-1.jpg',
  availability: 'in_stock',
  price: '129.00 USD',
  brand: 'Acme Audio',
  // EAN-13 4006381333931: digits 400638133393 weighted 1,3,1,3... from the left (3,1,... from the right)
  // sum to 89; (10 - 89 mod 10) mod 10 = 1, the last digit.
  gtin: '4006381333931',
  mpn: 'X1-BLK',
  condition: 'new',
  google_product_category: '543626',
};

export interface PrecheckFixture {
  name: string;
  items: FeedItem[];
  /** Rules expected on each item of `items`, in order (the same rule set for every item). */
  expect: PrecheckRule[];
}

const v = (over: Record<string, string | undefined>): FeedItem => ({ ...VALID_ITEM, ...over });

/** Valid products: each exercises an accepted edge of a rule. */
export const VALID_FIXTURES: PrecheckFixture[] = [
  { name: 'plain valid', items: [VALID_ITEM], expect: [] },
  // UPC-A 036000291452: 0,3,6,0,0,0,2,9,1,4,5 weighted 3,1,3,... from the left sum to 58; (10 - 8) = 2.
  { name: 'UPC-12 with a space', items: [v({ id: 'U12', gtin: '0360 0029 1452' })], expect: [] },
  // EAN-8 96385074: 9,6,3,8,5,0,7 weighted 3,1,3,1,3,1,3 sum to 27+6+9+8+15+0+21 = 86; (10 - 6) = 4.
  { name: 'GTIN-8', items: [v({ id: 'G8', gtin: '96385074' })], expect: [] },
  { name: 'no identifiers, declared', items: [v({ id: 'HANDMADE', brand: '', gtin: '', mpn: '', identifier_exists: 'no' })], expect: [] },
  { name: 'mpn only', items: [v({ id: 'MPN-ONLY', gtin: undefined })], expect: [] },
  {
    name: 'preorder with date',
    items: [v({ id: 'PRE', availability: 'preorder', availability_date: '2027-01-15T09:00-0800' })],
    expect: [],
  },
  {
    name: 'sale price with dates',
    items: [v({ id: 'SALE', sale_price: '99.00 USD', sale_price_effective_date: '2026-11-27T00:00-0500/2026-11-30T23:59-0500' })],
    expect: [],
  },
  {
    name: 'variants with a group',
    items: [
      v({
        id: 'TEE-S',
        title: 'Tee',
        color: 'Navy',
        size: 'S',
        item_group_id: 'TEE',
        gender: 'unisex',
        age_group: 'adult',
        google_product_category: '212',
      }),
      v({
        id: 'TEE-M',
        title: 'Tee',
        color: 'Navy',
        size: 'M',
        item_group_id: 'TEE',
        gender: 'unisex',
        age_group: 'adult',
        google_product_category: '212',
      }),
    ],
    expect: [],
  },
  { name: 'category by full path', items: [v({ id: 'PATH', google_product_category: 'Electronics' })], expect: [] },
  { name: 'used condition, HTML bold', items: [v({ id: 'USED', condition: 'used', description: 'Lightly <b>used</b>.' })], expect: [] },
];

/** One product per rule, breaking it once. */
export const VIOLATION_FIXTURES: PrecheckFixture[] = [
  { name: 'id missing', items: [v({ id: '' })], expect: ['id_required'] },
  { name: 'id 51 chars', items: [v({ id: 'A'.repeat(51) })], expect: ['id_too_long'] },
  // The first SKU-1 is the valid item at the top of the suite's feed.
  { name: 'id repeated', items: [v({ id: 'SKU-1' })], expect: ['id_duplicate'] },
  { name: 'title missing', items: [v({ id: 'T0', title: ' ' })], expect: ['title_required'] },
  { name: 'title 151 chars', items: [v({ id: 'T1', title: 'T'.repeat(151) })], expect: ['title_too_long'] },
  { name: 'description missing', items: [v({ id: 'D0', description: undefined })], expect: ['description_required'] },
  { name: 'description 5001 chars', items: [v({ id: 'D1', description: 'd'.repeat(5001) })], expect: ['description_too_long'] },
  {
    name: 'description script',
    items: [v({ id: 'D2', description: 'Great <script>alert(1)</script> sound' })],
    expect: ['description_script'],
  },
  { name: 'link missing', items: [v({ id: 'L0', link: '' })], expect: ['link_required'] },
  { name: 'link not http', items: [v({ id: 'L1', link: 'ftp://shop.example.com/p' })], expect: ['link_invalid'] },
  { name: 'image missing', items: [v({ id: 'I0', image_link: undefined })], expect: ['image_link_required'] },
  {
    name: 'image with spaces',
    items: [v({ id: 'I1', image_link: 'https://cdn.example.com/my image.jpg' })],
    expect: ['image_link_invalid'],
  },
  { name: 'availability missing', items: [v({ id: 'A0', availability: '' })], expect: ['availability_required'] },
  { name: 'availability unknown', items: [v({ id: 'A1', availability: 'discontinued' })], expect: ['availability_invalid'] },
  { name: 'backorder without date', items: [v({ id: 'A2', availability: 'backorder' })], expect: ['availability_date_required'] },
  {
    name: 'date not ISO',
    items: [v({ id: 'A3', availability: 'preorder', availability_date: '12/25/2026' })],
    expect: ['availability_date_invalid'],
  },
  { name: 'price missing', items: [v({ id: 'P0', price: undefined })], expect: ['price_required'] },
  { name: 'price with thousands separator', items: [v({ id: 'P1', price: '1,299.00 USD' })], expect: ['price_invalid'] },
  { name: 'price in EUR for US', items: [v({ id: 'P2', price: '129.00 EUR' })], expect: ['price_currency_country'] },
  { name: 'price with tax in US', items: [v({ id: 'P3', price_includes_tax: 'yes' })], expect: ['price_tax_included'] },
  { name: 'sale price unparseable', items: [v({ id: 'S0', sale_price: 'cheap' })], expect: ['sale_price_invalid'] },
  { name: 'sale price above price', items: [v({ id: 'S1', sale_price: '149.00 USD' })], expect: ['sale_price_not_lower'] },
  {
    name: 'sale dates reversed',
    items: [v({ id: 'S2', sale_price: '99.00 USD', sale_price_effective_date: '2026-12-01/2026-11-01' })],
    expect: ['sale_price_effective_date_invalid'],
  },
  { name: 'condition unknown', items: [v({ id: 'C0', condition: 'mint' })], expect: ['condition_invalid'] },
  { name: 'brand missing', items: [v({ id: 'B0', brand: undefined })], expect: ['brand_required'] },
  { name: 'brand 71 chars', items: [v({ id: 'B1', brand: 'b'.repeat(71) })], expect: ['brand_too_long'] },
  { name: 'no gtin nor mpn', items: [v({ id: 'N0', gtin: '', mpn: '' })], expect: ['identifier_required'] },
  { name: 'identifier_exists maybe', items: [v({ id: 'N1', identifier_exists: 'maybe' })], expect: ['identifier_exists_invalid'] },
  { name: 'gtin 11 digits', items: [v({ id: 'G0', gtin: '40063813339' })], expect: ['gtin_invalid_length'] },
  // 4006381333932: the same digits as the valid EAN with a last digit of 2; the check digit must be 1.
  { name: 'gtin bad check digit', items: [v({ id: 'G1', gtin: '4006381333932' })], expect: ['gtin_check_digit'] },
  { name: 'mpn 71 chars', items: [v({ id: 'M0', mpn: 'm'.repeat(71) })], expect: ['mpn_too_long'] },
  {
    name: 'variants without group',
    items: [v({ id: 'V-RED', title: 'Mug', color: 'Red' }), v({ id: 'V-BLUE', title: 'Mug', color: 'Blue' })],
    expect: ['item_group_id_required'],
  },
  { name: 'group id 51 chars', items: [v({ id: 'V2', item_group_id: 'g'.repeat(51) })], expect: ['item_group_id_too_long'] },
  { name: 'category unknown', items: [v({ id: 'K0', google_product_category: '999999' })], expect: ['google_product_category_unknown'] },
  {
    name: 'apparel without age group',
    items: [v({ id: 'AP0', google_product_category: '212', color: 'Navy', size: 'M', gender: 'female' })],
    expect: ['apparel_attribute_required'],
  },
  { name: 'gender unknown', items: [v({ id: 'GE0', gender: 'men' })], expect: ['gender_invalid'] },
  { name: 'age group unknown', items: [v({ id: 'AG0', age_group: 'teen' })], expect: ['age_group_invalid'] },
];
