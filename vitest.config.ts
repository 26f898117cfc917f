import { defineConfig } from 'vitest/config';

// Test files live beside the code they test (`*.test.ts`). Database-backed files get a fresh clone of a
// migrated template database each (see test/global-setup.ts), so files run in parallel safely.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
