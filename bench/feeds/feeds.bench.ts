/**
 * Feed precheck throughput: a feed of N products (default 100,000) built from the precheck's fixture suite,
 * so every rule is violated somewhere (about half the items break one rule), checked against Google's full
 * taxonomy (the file bundled with the catalog). Target: under 10 s for 100,000 items.
 *
 * Usage: npx tsx bench/feeds/feeds.bench.ts [--items=100000]
 *
 * Printed beside a baseline measured in the same run: a JSON round trip of the same feed (the cost of
 * merely receiving it), so the precheck's own cost reads as a multiple of that floor.
 */
import fs from 'node:fs';
import os from 'node:os';
import { type FeedItem, precheckFeed, PRECHECK_RULE_IDS, VALID_FIXTURES, VIOLATION_FIXTURES } from '../../src/modules/visibility/index.ts';

const opts = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => [m[1]!, m[2]!]),
);
const N = Number(opts.get('items') ?? 100_000);

const taxonomyText = fs.readFileSync(new URL('../../src/modules/catalog/data/taxonomy-with-ids.en-US.txt', import.meta.url), 'utf8');
const taxonomy = new Map<number, string>();
for (const line of taxonomyText.split('\n')) {
  const m = /^(\d+) - (.+)$/.exec(line.trim());
  if (m) taxonomy.set(Number(m[1]), m[2]!);
}

// Cycle through the fixtures; ids get a suffix so only the duplicate-id fixture repeats an id.
const groups = [...VALID_FIXTURES, ...VIOLATION_FIXTURES];
const feed: FeedItem[] = [];
for (let round = 0; feed.length < N; round++) {
  for (const g of groups) {
    for (const item of g.items) {
      if (feed.length >= N) break;
      const keepId = g.expect.includes('id_duplicate') || g.expect.includes('id_required') || g.expect.includes('id_too_long');
      feed.push({
        ...item,
        id: keepId ? item.id : `${item.id}-${round}`,
        // Variants are variants within a round (the same product listed again would be a variant of itself).
        title: item.color || item.size ? `${item.title} ${round}` : item.title,
      });
    }
  }
}

const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const out = fn();
  return [out, (performance.now() - t0) / 1000];
};

const [, baseline] = time(() => JSON.parse(JSON.stringify(feed)) as unknown);
const [report, seconds] = time(() => precheckFeed(feed, { targetCountry: 'US', taxonomy }));
const violated = PRECHECK_RULE_IDS.filter((r) => (report.summary.byRule[r] ?? 0) > 0).length;

console.log(
  `machine: ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`feed: ${N.toLocaleString('en-US')} items, ${violated}/${PRECHECK_RULE_IDS.length} rules violated somewhere`);
console.log(`summary: ok ${report.summary.ok}, warnings ${report.summary.warnings}, errors ${report.summary.errors}`);
console.log(`baseline (JSON round trip of the feed): ${baseline.toFixed(2)} s`);
console.log(
  `precheck: ${seconds.toFixed(2)} s (${Math.round(N / seconds).toLocaleString('en-US')} items/s, ${(seconds / baseline).toFixed(1)}x the baseline)`,
);
console.log(seconds < 10 ? 'PASS: under 10 s' : 'FAIL: 10 s or more');
if (seconds >= 10) process.exitCode = 1;
