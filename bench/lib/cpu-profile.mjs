// Reading a .cpuprofile (V8 sampling profile, JSON) for the summary and span tools: nodes by id, each node's
// parent, and a frame's readable label (function, then path shortened to npm:package or src/ bench/ bin/).
import fs from 'node:fs';

export function readProfile(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return { profile, nodes, parent };
}

export const label = (n) => {
  const f = n.callFrame;
  const url = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'npm:')
    .replace(/.*\/(src|bench|bin)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
};
