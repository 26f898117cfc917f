// The longest synchronous runs in a .cpuprofile (V8 sampling profile, JSON): consecutive samples whose stack holds
// a frame matching `pattern` (default: PGlite's wasm and its JS glue, or this project's code), i.e. how long one
// piece of work held the event loop without a turn in between. Each run is named by the frames most often on its
// stacks (this project's own functions first, then the rest).
//   node bench/lib/cpu-profile-spans.mjs server.cpuprofile [minMs=20] [pattern]
import { label, readProfile } from './cpu-profile.mjs';

const [file, minArg, pattern] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/lib/cpu-profile-spans.mjs file.cpuprofile [minMs] [pattern]');
  process.exit(2);
}
const minMs = Number(minArg ?? 20);
const re = new RegExp(pattern ?? 'pglite|/src/');
const { profile, nodes, parent } = readProfile(file);
const stackCache = new Map();
const stackOf = (id) => {
  let s = stackCache.get(id);
  if (!s) {
    s = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) s.push(nodes.get(cur));
    stackCache.set(id, s);
  }
  return s;
};
const idle = (id) => ['(idle)', '(program)', '(garbage collector)'].includes(nodes.get(id).callFrame.functionName);
const matches = (id) => stackOf(id).some((n) => re.test(n.callFrame.url));
// A task: consecutive samples under the same entry frame (the node just below the root: a timer, an I/O callback,
// the microtask queue...); GC samples count towards the task they interrupt. A run: a task with a matching frame.
const entryOf = (id) => {
  const s = stackOf(id);
  return s.length >= 2 ? s[s.length - 2].id : id;
};
const tasks = [];
let cur;
let t = profile.startTime;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i] ?? 0;
  const gc = nodes.get(id).callFrame.functionName === '(garbage collector)';
  if (!gc && idle(id)) {
    if (cur) tasks.push(cur);
    cur = undefined;
    return;
  }
  if (cur && !gc && cur.entry !== entryOf(id)) {
    tasks.push(cur);
    cur = undefined;
  }
  cur ??= { start: t, end: t, ids: [], entry: gc ? undefined : entryOf(id), matched: false };
  cur.entry ??= gc ? undefined : entryOf(id);
  cur.end = t;
  cur.ids.push(id);
  if (!gc && matches(id)) cur.matched = true;
});
if (cur) tasks.push(cur);
const runs = tasks.filter((r) => r.matched);
const long = runs.filter((r) => (r.end - r.start) / 1000 >= minMs).sort((a, b) => b.end - b.start - (a.end - a.start));
const total = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${total.toFixed(1)} s profiled, ${runs.length} runs, ${long.length} of ${minMs} ms or more`);
for (const r of long.slice(0, Number(process.env.SPANS_TOP ?? 30))) {
  const counts = new Map();
  for (const id of r.ids)
    for (const l of new Set(
      stackOf(id)
        .filter((n) => /\/src\//.test(n.callFrame.url))
        .map(label),
    ))
      counts.set(l, (counts.get(l) ?? 0) + 1);
  const own = [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([l, c]) => `${l} ${Math.round((100 * c) / r.ids.length)}%`);
  const leaf = new Map();
  for (const id of r.ids) leaf.set(label(nodes.get(id)), (leaf.get(label(nodes.get(id))) ?? 0) + 1);
  const top = [...leaf]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([l, c]) => `${l} ${Math.round((100 * c) / r.ids.length)}%`);
  console.log(
    `${((r.end - r.start) / 1000).toFixed(1).padStart(7)} ms at ${((r.start - profile.startTime) / 1e6).toFixed(2)} s | ours: ${own.join('; ') || '-'} | self: ${top.join('; ')}`,
  );
}
