import { describe, expect, it } from 'vitest';
import { siblingModule } from './worker-thread.ts';

describe('siblingModule', () => {
  it('names the .ts source from source and the .js sibling in a build', () => {
    expect(siblingModule('file:///app/src/ml/x.scorer.ts', 'x.worker').href).toBe('file:///app/src/ml/x.worker.ts');
    expect(siblingModule('file:///app/dist/ml/x.scorer.js', 'x.worker').href).toBe('file:///app/dist/ml/x.worker.js');
  });
});
