import { defineConfig } from 'vitest/config';

// Test files live beside the code they test (`*.test.ts`). Database-backed files get a fresh clone of a
// migrated template database each (see test/global-setup.ts), so files run in parallel safely.
// isolate: false runs the files of one worker in one process, one after another, sharing its module cache:
// a fresh process per file re-imported the whole app (fastify, zod, drizzle, PGlite) every time, about 2 s of
// CPU per file. Files share no state but what they create and close themselves (no vi.mock, every app and
// database closed in afterAll, spies restored), so nothing carries over.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Training threads at the API's priority: two forks, their servers, PostgreSQL and Chromium keep both cores busy, and
    // a training thread at nice 19 (the default) got so little of them that tests waiting for a model took ~40% longer.
    // Tests of the priority itself pass it explicitly (predictions/training.thread.test.ts).
    env: { LOUPE_TRAINING_NICE: '0' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
    reporters: ['default'],
  },
});
