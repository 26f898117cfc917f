import { describe, expect, it, vi } from 'vitest';
import { createRollupBuilds } from './rollup-builds.queue.ts';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('rollup first builds', () => {
  it('a build that ends within the wait is waited for; one that does not goes on, and later reads join it instead of starting another', async () => {
    const builds = createRollupBuilds({ waitMs: 30, log: { error: vi.fn() } });
    expect(await builds.within('quick', async () => {})).toBe(true);
    expect(builds.building('quick')).toBe(false);

    const slow = deferred();
    const build = vi.fn(() => slow.promise);
    expect(await builds.within('slow', build)).toBe(false);
    expect(builds.building('slow')).toBe(true);
    expect(await builds.within('slow', build)).toBe(false);
    expect(build).toHaveBeenCalledTimes(1);
    slow.resolve();
    await builds.idle();
    expect(builds.building('slow')).toBe(false);
  });

  it('a failed build is logged, not thrown, and the next read starts a new one', async () => {
    const error = vi.fn();
    const builds = createRollupBuilds({ waitMs: 50, log: { error } });
    expect(await builds.within('k', () => Promise.reject(new Error('disk full')))).toBe(true);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]![0]).toMatchObject({ key: 'k' });
    const again = vi.fn(async () => {});
    expect(await builds.within('k', again)).toBe(true);
    expect(again).toHaveBeenCalledTimes(1);
  });

  it('a wait of 0 never waits: the build runs in the background', async () => {
    const builds = createRollupBuilds({ waitMs: 0, log: { error: vi.fn() } });
    let ran = false;
    expect(
      await builds.within('k', async () => {
        ran = true;
      }),
    ).toBe(false);
    await builds.idle();
    expect(ran).toBe(true);
  });
});
