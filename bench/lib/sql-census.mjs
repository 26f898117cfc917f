// A census of the SQL a Loupe server sends to PostgreSQL, for benches that must say where their time goes.
// Preloaded into the server process (`node --import bench/lib/sql-census.mjs ...`): it wraps node-postgres'
// `Client.prototype.query`, counts statements by kind (verb + first table) with the time each waited for its
// answer, and writes the tally as JSON to LOUPE_SQL_CENSUS_FILE when the process exits. SIGUSR2 writes the tally so
// far to that file, then zeroes it (a bench sends it after its warm-up, and after each phase it reads on its own).
// The embedded database (PGlite) is counted too: its `query`, `exec` and `transaction` (BEGIN, each statement
// inside, COMMIT). LOUPE_SQL_CENSUS_ROOT names the checkout whose `pg` and PGlite the server loads (a baseline
// tree measured beside this one); default: this one.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(path.join(process.env.LOUPE_SQL_CENSUS_ROOT ?? path.resolve(import.meta.dirname, '../..'), 'package.json'));
const pg = require('pg');

const out = process.env.LOUPE_SQL_CENSUS_FILE;
const tally = new Map();
let wall = 0; // ms with at least one statement in flight
let inFlight = 0;
let since = 0;

/** "INSERT interactions", "SELECT profile_identifiers", "BEGIN": the verb and the first table it names. */
export function kindOf(text) {
  const t = text.replace(/\s+/g, ' ').trim();
  const verb = (/^\w+/.exec(t)?.[0] ?? '?').toUpperCase();
  const table = /\b(?:into|from|update|join)\s+"?([a-z_][a-z0-9_]*)"?/i.exec(t)?.[1];
  return table && !['unnest', 'jsonb_to_recordset', 'jsonb_array_elements'].includes(table) ? `${verb} ${table}` : verb;
}

/** Starts timing statement `text`; the answer settles it. */
function begin(text) {
  const started = performance.now();
  if (inFlight++ === 0) since = started;
  return () => {
    const now = performance.now();
    if (--inFlight === 0) wall += now - since;
    const k = kindOf(text);
    const e = tally.get(k) ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += now - started;
    tally.set(k, e);
  };
}

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  const text = typeof args[0] === 'string' ? args[0] : (args[0]?.text ?? '');
  const settle = begin(text);
  // node-postgres takes a callback (its Pool does) or returns a promise; time both.
  const cb = args.length && typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
  if (cb) {
    args[args.length - 1] = (...r) => {
      settle();
      return cb(...r);
    };
  }
  const result = query.apply(this, args);
  if (!cb && result && typeof result.then === 'function') result.then(settle, settle);
  return result;
};

// The wait for a pooled connection (node-postgres' Pool, callback or promise form), tallied as the kind
// "(pool wait)": a pool too small for the load queues requests there, unseen by the statement times above.
const connect = pg.Pool.prototype.connect;
pg.Pool.prototype.connect = function (cb) {
  const started = performance.now();
  const settle = () => {
    const e = tally.get('(pool wait)') ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += performance.now() - started;
    tally.set('(pool wait)', e);
  };
  if (typeof cb === 'function')
    return connect.call(this, (...r) => {
      settle();
      return cb(...r);
    });
  const r = connect.call(this);
  r.then(settle, settle);
  return r;
};

/** `fn`'s answer (a promise) settles a statement of `text`. */
function timed(text, fn) {
  const settle = begin(text);
  const r = fn();
  r.then(settle, settle);
  return r;
}
// The ESM build the server imports (require.resolve names the CommonJS one beside it).
const { PGlite } = await import(pathToFileURL(path.join(path.dirname(require.resolve('@electric-sql/pglite')), 'index.js')).href);
/** A transaction's own `query` and `exec` counted like the instance's. */
function countedTx(tx) {
  for (const m of ['query', 'exec']) {
    const f = tx[m].bind(tx);
    tx[m] = (text, ...rest) => timed(text, () => f(text, ...rest));
  }
  return tx;
}
for (const m of ['query', 'exec']) {
  const f = PGlite.prototype[m];
  PGlite.prototype[m] = function (text, ...rest) {
    return timed(text, () => f.call(this, text, ...rest));
  };
}
const transaction = PGlite.prototype.transaction;
PGlite.prototype.transaction = function (cb) {
  begin('BEGIN')();
  return transaction.call(this, (tx) => cb(countedTx(tx))).finally(() => begin('COMMIT')());
};

const write = () => {
  if (out) fs.writeFileSync(out, JSON.stringify({ wallMs: wall, kinds: Object.fromEntries(tally) }));
};
process.on('SIGUSR2', () => {
  write();
  tally.clear();
  wall = 0;
});
process.on('exit', write);
