import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import type { ParquetColumn } from './warehouse.core.ts';

/**
 * Parquet encoding (hyparquet-writer, pure JavaScript, SNAPPY): CPU only, no I/O, importable from a worker thread
 * (`parquet.worker.ts`) as well as from the service.
 */

/** Encodes columns as one Parquet file (row groups of up to 100,000 rows). */
export function encodeParquet(columns: ParquetColumn[], createdBy: string): Uint8Array {
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData: columns as never,
    rowGroupSize: 100_000,
    createdBy,
  });
  return new Uint8Array(writer.getBuffer());
}
