import { parentPort, threadId } from 'node:worker_threads';
import { type LearnedVerdict, type Scorer, type VerdictInput, learnedVerdicts } from './matching.core.ts';

/** The matching thread (started by `matching.thread.ts`): one message per batch; the scorer is sent when it changes. */
export interface VerdictRequest {
  id: number;
  scorer?: Scorer;
  input: VerdictInput;
}
export interface VerdictReply {
  id: number;
  threadId: number;
  verdicts?: [string, LearnedVerdict][];
  error?: string;
}

let scorer: Scorer | null = null;
parentPort!.on('message', (m: VerdictRequest) => {
  try {
    if (m.scorer) scorer = m.scorer;
    if (!scorer) throw new Error('no scorer was sent');
    parentPort!.postMessage({ id: m.id, threadId, verdicts: [...learnedVerdicts(m.input, scorer)] } satisfies VerdictReply);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, threadId, error: err instanceof Error ? err.message : String(err) } satisfies VerdictReply);
  }
});
