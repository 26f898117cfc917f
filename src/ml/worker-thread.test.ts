import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { lowerThreadPriority, siblingModule } from './worker-thread.ts';

describe('siblingModule', () => {
  it('names the .ts source from source and the .js sibling in a build', () => {
    expect(siblingModule('file:///app/src/ml/x.scorer.ts', 'x.worker').href).toBe('file:///app/src/ml/x.worker.ts');
    expect(siblingModule('file:///app/dist/ml/x.scorer.js', 'x.worker').href).toBe('file:///app/dist/ml/x.worker.js');
  });
});

describe('lowerThreadPriority', () => {
  it('never touches the main thread (the API): off a worker thread it does nothing', () => {
    const before = getPriority();
    expect(lowerThreadPriority(before + 1)).toBeNull();
    expect(getPriority()).toBe(before);
  });
  // a worker thread's own nice value: see training.thread.test.ts (the predictions run's thread reports it)
});
