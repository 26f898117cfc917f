import { parentPort, threadId } from 'node:worker_threads';
import type { ParquetColumn } from './warehouse.core.ts';
import { encodeParquet } from './warehouse.parquet.ts';

/** The Parquet encoding thread (started by `parquet.thread.ts`): one message per file, the bytes moved back. */
export interface EncodeRequest {
  id: number;
  columns: ParquetColumn[];
  createdBy: string;
}

parentPort!.on('message', (m: EncodeRequest) => {
  try {
    const bytes = encodeParquet(m.columns, m.createdBy);
    parentPort!.postMessage({ id: m.id, bytes, threadId }, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
