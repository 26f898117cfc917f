/**
 * First builds of a tenant's rollups, off the report's path when they are long. A first build reads every tracking
 * row of the tenant: at 200,000 sessions (5 million events) bench/analytics measured 206 s for the report rollups and
 * 12-30 s for a funnel's on PostgreSQL (74-120 s on PGlite), longer than any client waits for a report. A read that
 * finds no rollup starts its build (one per key in this process; across processes the rollup row's lock makes builds
 * take turns) and waits at most `waitMs` for it: a small tenant's build ends within that and the read uses it; a large
 * one goes on in the background while reads answer from the raw rows and say so (`source_reason`).
 */
export interface RollupBuildsDeps {
  /** Longest a read waits for a first build before it answers from the raw rows (config LOUPE_ANALYTICS_ROLLUP_BUILD_WAIT_MS). */
  waitMs: number;
  log: { error(obj: unknown, msg: string): void };
}

export function createRollupBuilds(deps: RollupBuildsDeps) {
  const running = new Map<string, Promise<void>>();
  return {
    /** Starts the build of `key` (or joins the one running) and waits up to `waitMs`: true when it has ended. */
    async within(key: string, build: () => Promise<unknown>): Promise<boolean> {
      let run = running.get(key);
      if (!run) {
        run = build().then(
          () => undefined,
          // A failed build is tried again by the next read; reads meanwhile use the raw rows.
          (err: unknown) => deps.log.error({ err, key }, 'analytics rollup build failed; reports read the raw rows until a build succeeds'),
        );
        const mine = run;
        running.set(key, mine);
        void mine.finally(() => {
          if (running.get(key) === mine) running.delete(key);
        });
      }
      if (deps.waitMs <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), deps.waitMs);
      });
      try {
        return await Promise.race([run.then(() => true as const), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    /** Whether a build of `key` is running in this process. */
    building: (key: string): boolean => running.has(key),
    /** Resolves when every build started so far has ended (shutdown, tests). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
  };
}
export type RollupBuilds = ReturnType<typeof createRollupBuilds>;
