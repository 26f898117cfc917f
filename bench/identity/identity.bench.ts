/**
 * Identity resolution accuracy and throughput on a generated population with known ground truth.
 *
 * Usage: npx tsx bench/identity/identity.bench.ts [--people=2000] [--batch=100] [--seed=7] [--protect-weak-links=false]
 *        (PGlite in memory by default; DATABASE_URL=postgres://... to run on PostgreSQL, in a throwaway tenant)
 *
 * The population: people with one to three devices (each with its cookie), one to three e-mail addresses
 * written with case / plus-tag / gmail-dot variants and, for some, a typo in the domain or the local part;
 * phones written in many formats (checkout, POS, WhatsApp); a store account (user_id) for 60% of them;
 * households sharing a family tablet; guest checkouts by phone only; 3% of checkouts typed the placeholder
 * `test@test.com`. Every event is labelled with its true person.
 *
 * Printed: pairwise precision / recall / F1 of the event clusters (two events are "together" when they end
 * on the same profile), for Loupe's resolver and for a naive baseline that links events only when their raw
 * e-mail strings are equal; events per second through resolveMany.
 */
import { sql } from 'drizzle-orm';
import { createIdentityModule, type ResolveInput } from '../../src/modules/identity/index.ts';
import { createProfileLinksRepository } from '../../src/modules/events/index.ts';
import { migrateDatabase, newId, openDatabase, queryRows, type PlatformServices } from '../../src/platform/index.ts';

const opts = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => [m[1]!, m[2]!]),
);
const PEOPLE = Number(opts.get('people') ?? 2000);
const BATCH = Number(opts.get('batch') ?? 100);
let seed = Number(opts.get('seed') ?? 7) >>> 0;

/** mulberry32: the population is the same for a given seed. */
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const FIRST = [
  'anna',
  'ben',
  'chloe',
  'david',
  'emma',
  'felix',
  'grace',
  'hugo',
  'iris',
  'jack',
  'kate',
  'liam',
  'mia',
  'noah',
  'olga',
  'paul',
  'rosa',
  'sam',
  'tara',
  'victor',
];
const LAST = ['smith', 'jones', 'martin', 'garcia', 'muller', 'rossi', 'dubois', 'silva', 'kim', 'chen', 'novak', 'berg'];
const DOMAINS = [
  'gmail.com',
  'gmail.com',
  'gmail.com',
  'yahoo.com',
  'hotmail.com',
  'outlook.com',
  'icloud.com',
  'proton.me',
  'shop-mail.fr',
];
const DOMAIN_TYPO: Record<string, string> = {
  'gmail.com': 'gmial.com',
  'yahoo.com': 'yahooo.com',
  'hotmail.com': 'hotmial.com',
  'outlook.com': 'outlok.com',
  'icloud.com': 'iclod.com',
};

interface Person {
  id: number;
  userId: string | null;
  emails: string[];
  phone: string | null; // national digits, NANP
  devices: { device: string; cookie: string }[];
}

function makeEmailBase(n: number): string {
  const sep = pick(['.', '', '_']);
  return `${pick(FIRST)}${sep}${pick(LAST)}${n}`;
}

/** How a person writes an address on a given day: case, plus tag, gmail dots, and sometimes a typo. */
function writeEmail(base: string, domain: string, typoBias: number): { text: string; typo: 'none' | 'domain' | 'local' } {
  let local = base;
  if (domain === 'gmail.com' && chance(0.2)) local = local.replace(/\./g, '');
  if (chance(0.1)) local = `${local}+${pick(['shop', 'news', 'promo'])}`;
  let d = domain;
  let typo: 'none' | 'domain' | 'local' = 'none';
  if (chance(typoBias)) {
    if (DOMAIN_TYPO[domain] && chance(0.6)) {
      d = DOMAIN_TYPO[domain]!;
      typo = 'domain';
    } else {
      const i = int(1, Math.max(1, local.length - 2));
      local = local.slice(0, i) + local[i + 1] + local[i] + local.slice(i + 2); // swapped letters
      typo = 'local';
    }
  }
  let text = `${local}@${d}`;
  if (chance(0.15)) text = text.toUpperCase();
  if (chance(0.05)) text = ` ${text} `;
  return { text, typo };
}

function writePhone(national: string): string {
  const a = national.slice(0, 3);
  const b = national.slice(3, 6);
  const c = national.slice(6);
  return pick([`+1${national}`, `(${a}) ${b}-${c}`, `${a}-${b}-${c}`, `${a}.${b}.${c}`, national, `+1 ${a} ${b} ${c}`, `1-${a}-${b}-${c}`]);
}

interface Emails {
  base: string;
  domain: string;
}

function generate(): { events: { input: ResolveInput; person: number; rawEmail: string | null }[]; people: number } {
  const people: (Person & { mail: Emails[] })[] = [];
  for (let p = 0; p < PEOPLE; p++) {
    const nEmails = pick([1, 1, 1, 2, 2, 3]);
    const mail = Array.from({ length: nEmails }, (_, k) => ({ base: makeEmailBase(p * 10 + k), domain: pick(DOMAINS) }));
    const phone = chance(0.75) ? `${int(201, 989)}${int(200, 999)}${String(int(0, 9999)).padStart(4, '0')}` : null;
    const devices = Array.from({ length: pick([1, 1, 2, 2, 3]) }, (_, k) => ({
      device: `dev-${p}-${k}-${newId().slice(-6)}`,
      cookie: `ck-${p}-${k}-${newId().slice(-8)}`,
    }));
    people.push({ id: p, userId: chance(0.6) ? `cust-${100000 + p}` : null, emails: [], phone, devices, mail });
  }
  // Households: 8% of people share a family tablet with one to three others.
  for (let p = 0; p + 3 < PEOPLE; p += 4) {
    if (!chance(0.32)) continue;
    const tablet = { device: `family-tablet-${p}`, cookie: `ck-family-${p}` };
    for (let k = 0; k < int(2, 4); k++) people[p + k]!.devices.push(tablet);
  }
  const events: { input: ResolveInput; person: number; rawEmail: string | null; t: number }[] = [];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (const person of people) {
    const typoBias = chance(0.15) ? 0.5 : 0.02; // some people mistype often
    const n = int(4, 14);
    for (let k = 0; k < n; k++) {
      const t = t0 + Math.floor(rand() * 90 * 86400_000);
      const dev = pick(person.devices);
      const m = pick(person.mail);
      const r = rand();
      const ids: [string, string][] = [];
      let rawEmail: string | null = null;
      let channel = 'web';
      if (r < 0.4) {
        ids.push(['anonymous_id', dev.cookie], ['device_id', dev.device]); // browsing
      } else if (r < 0.6 && person.userId) {
        ids.push(['user_id', person.userId], ['anonymous_id', dev.cookie], ['device_id', dev.device]); // signed in
      } else if (r < 0.8) {
        channel = 'shopify'; // checkout
        const e = chance(0.03) ? { text: 'test@test.com' } : writeEmail(m.base, m.domain, typoBias);
        rawEmail = e.text;
        ids.push(['email', e.text], ['anonymous_id', dev.cookie]);
        if (person.phone) ids.push(['phone', writePhone(person.phone)]);
        if (person.userId && chance(0.7)) ids.push(['user_id', person.userId]);
      } else if (r < 0.9 && person.phone) {
        channel = 'pos'; // guest checkout in store, by phone
        ids.push(['phone', writePhone(person.phone)]);
      } else if (person.phone) {
        channel = 'whatsapp';
        ids.push(['whatsapp', `whatsapp:+1${person.phone}`]);
      } else {
        ids.push(['anonymous_id', dev.cookie]);
      }
      events.push({
        input: { identifiers: ids.map(([type, value]) => ({ type, value })), channel, occurredAt: new Date(t) },
        person: person.id,
        rawEmail,
        t,
      });
    }
  }
  events.sort((a, b) => a.t - b.t);
  return { events, people: people.length };
}

/** Pairwise precision and recall of predicted clusters against the truth. */
function pairwise(truth: readonly number[], predicted: readonly string[]): { precision: number; recall: number; f1: number } {
  const c2 = (n: number) => (n * (n - 1)) / 2;
  const cell = new Map<string, number>();
  const byTruth = new Map<number, number>();
  const byPred = new Map<string, number>();
  for (let i = 0; i < truth.length; i++) {
    cell.set(`${truth[i]}|${predicted[i]}`, (cell.get(`${truth[i]}|${predicted[i]}`) ?? 0) + 1);
    byTruth.set(truth[i]!, (byTruth.get(truth[i]!) ?? 0) + 1);
    byPred.set(predicted[i]!, (byPred.get(predicted[i]!) ?? 0) + 1);
  }
  let tp = 0;
  for (const n of cell.values()) tp += c2(n);
  let tPairs = 0;
  for (const n of byTruth.values()) tPairs += c2(n);
  let pPairs = 0;
  for (const n of byPred.values()) pPairs += c2(n);
  const precision = pPairs ? tp / pPairs : 1;
  const recall = tPairs ? tp / tPairs : 1;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const database = url ? await openDatabase({ kind: 'postgres', url, poolSize: 4 }) : await openDatabase({ kind: 'pglite' });
  await migrateDatabase(database);
  const tenantId = newId();
  const platform = { db: database.db, databaseKind: database.kind } as unknown as PlatformServices;
  const identity = createIdentityModule(platform, { events: createProfileLinksRepository() });
  if (opts.get('protect-weak-links') === 'false') {
    await database.db.execute(
      sql`INSERT INTO identity_settings (tenant_id, settings) VALUES (${tenantId}, '{"protect_weak_links": false}'::jsonb)`,
    );
  }

  const { events, people } = generate();
  console.log(`identity bench on ${database.kind}: ${people} people, ${events.length} events, batches of ${BATCH}`);

  const assigned: (string | null)[] = [];
  const start = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    const out = await identity.resolveMany(
      tenantId,
      events.slice(i, i + BATCH).map((e) => e.input),
    );
    assigned.push(...out);
  }
  const seconds = (performance.now() - start) / 1000;

  // Final cluster of each event: its profile's survivor after every later merge.
  const survivors = new Map(
    (
      await queryRows<{ id: string; survivor: string }>(
        database.db,
        sql`WITH RECURSIVE c(id, cur, depth) AS (SELECT id, id, 0 FROM profiles WHERE tenant_id = ${tenantId}
              UNION ALL SELECT c.id, p.merged_into, c.depth + 1 FROM c JOIN profiles p ON p.tenant_id = ${tenantId} AND p.id = c.cur AND p.merged_into IS NOT NULL WHERE c.depth < 50)
            SELECT DISTINCT ON (id) id::text AS id, cur::text AS survivor FROM c ORDER BY id, depth DESC`,
      )
    ).map((r) => [r.id, r.survivor]),
  );
  const truth = events.map((e) => e.person);
  const predicted = assigned.map((p, i) => (p ? (survivors.get(p) ?? p) : `none-${i}`));
  const baseline = events.map((e, i) => (e.rawEmail !== null ? `mail:${e.rawEmail}` : `solo-${i}`));

  const countOf = async (q: ReturnType<typeof sql>) => (await queryRows<{ n: number }>(database.db, q))[0]?.n ?? 0;
  const profiles = await countOf(sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active'`);
  const reviews = await countOf(sql`SELECT count(*)::int AS n FROM profile_review_queue WHERE tenant_id = ${tenantId}`);
  const merges = await countOf(sql`SELECT count(*)::int AS n FROM profile_merges WHERE tenant_id = ${tenantId}`);

  const ours = pairwise(truth, predicted);
  const naive = pairwise(truth, baseline);
  const f = (x: number) => x.toFixed(4);
  console.log(
    `loupe    precision ${f(ours.precision)}  recall ${f(ours.recall)}  F1 ${f(ours.f1)}   (${profiles} profiles for ${people} people, ${merges} merges, ${reviews} review cases)`,
  );
  console.log(`baseline precision ${f(naive.precision)}  recall ${f(naive.recall)}  F1 ${f(naive.f1)}   (exact raw e-mail string only)`);
  console.log(`recall ratio loupe/baseline ${(ours.recall / naive.recall).toFixed(2)}x, F1 ratio ${(ours.f1 / naive.f1).toFixed(2)}x`);
  console.log(`throughput ${Math.round(events.length / seconds)} events/s through resolveMany (${seconds.toFixed(1)} s)`);

  if (url) {
    for (const table of [
      'profile_identifiers',
      'profile_orders',
      'profile_merges',
      'profile_review_queue',
      'profiles',
      'identity_settings',
    ]) {
      await database.db.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`);
    }
  }
  await database.close();
}

await main();
