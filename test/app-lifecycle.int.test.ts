/**
 * A closed app leaves nothing behind that keeps it alive: no timer, listener or registry of a module holds it. The
 * test processes build hundreds of apps one after another (isolate: false), and a timer left running held each whole
 * app (~40 MB: billing's usage flush) until a worker ran out of heap; in a server it would hold the app past close().
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect, it } from 'vitest';
import { createTestApp } from './helpers.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

it('a closed app is garbage: nothing keeps it alive', async () => {
  const closedApp = async () => {
    const t = await createTestApp();
    await t.createTenant('Lifecycle store');
    await t.close();
    return new WeakRef(t.app);
  };
  const first = await closedApp();
  // A second app built and closed after it: what keeps only the latest app (a module's last-used handle) lets the
  // first go; a timer or listener left behind by each app does not.
  await closedApp();
  // Promises and short timers of a closing app settle within a moment; anything still holding it after that leaks.
  // (deref() keeps its target alive until the current job ends, so each collection runs in a job of its own.)
  let collected = false;
  for (let i = 0; i < 50 && !collected; i++) {
    await new Promise((r) => setTimeout(r, 100));
    gc();
    collected = first.deref() === undefined;
  }
  expect(collected, 'the first closed app is still reachable').toBe(true);
}, 120_000);
