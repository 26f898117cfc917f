// Summarises a .cpuprofile (V8 sampling profile, JSON): self time by function and by file/package, and the
// inclusive time of functions whose name or file matches a filter.
//   node bench/lib/cpu-profile-summary.mjs server.cpuprofile [top=40] [filter-regexp]
import { label, readProfile } from './cpu-profile.mjs';

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/lib/cpu-profile-summary.mjs file.cpuprofile [top] [filter]');
  process.exit(2);
}
const top = Number(topArg ?? 40);
const { profile, nodes, parent } = readProfile(file);
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const area = (n) => {
  const url = n.callFrame.url;
  if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native/V8)';
  if (url.startsWith('node:')) return url.split('/')[0];
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `npm:${m[1]}`;
  const s = /\/(src\/(?:modules\/)?[^/]+)/.exec(url);
  return s ? s[1] : url;
};
const pct = (us) => `${((us * 100) / total).toFixed(1).padStart(5)}%`;
const bySelf = new Map();
const byArea = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  bySelf.set(label(n), (bySelf.get(label(n)) ?? 0) + us);
  byArea.set(area(n), (byArea.get(area(n)) ?? 0) + us);
}
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${profile.samples.length} samples`);
console.log('\nself time by area:');
for (const [k, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by function:');
for (const [k, us] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
// Inclusive: a sample counts once for every distinct function label on its stack.
const incl = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(nodes.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}
const re = filter ? new RegExp(filter) : /src\//;
console.log(`\ninclusive time, functions matching ${re}:`);
for (const [k, us] of [...incl]
  .filter(([k]) => re.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pct(us)}  ${k}`);
