import fs from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest files first, so the two forks end together instead of one running a long file alone at the end. Vitest does
 * that from its results cache, which lives in node_modules (CI installs it afresh: no cache) and otherwise orders by
 * file size alone, where a short browser file (20-60 s whatever its size) can start last. Without a cached duration
 * for every file, a file's time is guessed from its size and kind: per byte, a browser file took about 4 times an
 * integration file and an integration file about 20 times a unit test file (medians of one PGlite pass, 334 files).
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cached = (f: TestSpecification) => this.ctx.cache.getFileTestResults(`${f.project.name}:${f.moduleId.slice(root.length + 1)}`);
    if (files.every(cached)) return super.sort(files);
    const weight = (id: string) => (id.includes('.browser.') ? 4 : id.includes('.int.') ? 1 : 0.05);
    const guess = new Map(files.map((f) => [f, fs.statSync(f.moduleId).size * weight(f.moduleId)]));
    return [...files].sort((a, b) => guess.get(b)! - guess.get(a)!);
  }
}

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
    sequence: { sequencer: LongestFirst },
    reporters: ['default'],
  },
});
