/**
 * A stored model version made ready to serve, without holding the event loop: the artifact is copied in slices
 * (`unpackVersionChunked`), a factor model's scorer is built in steps (`servingModelInTurns`) and the item id ->
 * index table a chunk per turn. What still runs in one turn is the item id table's JSON parse.
 */
import { unpackVersionChunked } from '../recs.core.ts';
import { type ServingModel, servingModelInTurns } from '../recs.models.ts';
import { itemTableBytes } from './serving.memory.ts';

/** Model item ids indexed per turn of the event loop (about 2 ms of CPU for 4,096 ids). */
export const INDEX_CHUNK = 4096;
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface DecodedModel {
  model: ServingModel;
  itemIds: string[];
  itemIndex: Map<string, number>;
  /** Score buffer reused by every request: scoring and ranking are synchronous, so requests never share it mid-use. */
  scratch: Float32Array;
  maxPopularity: number;
  /** Bytes held from now on: the model's arrays, its item table and the score buffer. */
  bytes: number;
}

/** Decodes a packed version (`packVersion`) for serving, giving the loop a turn between slices (`pause`). */
export async function decodeServingModel(file: Buffer, pause: () => Promise<void> = yieldToLoop): Promise<DecodedModel> {
  const { itemIds, meta, arrays } = await unpackVersionChunked(file, { pause });
  const model = await servingModelInTurns(meta, arrays, pause);
  let maxPopularity = 0;
  for (const x of model.popularity) if (x > maxPopularity) maxPopularity = x;
  const scratch = new Float32Array(itemIds.length);
  // a Yelp2018-size table (38k ids) built in one go held every request behind it for ~20 ms of CPU
  const itemIndex = new Map<string, number>();
  for (let at = 0; at < itemIds.length; at += INDEX_CHUNK) {
    await pause();
    const end = Math.min(itemIds.length, at + INDEX_CHUNK);
    for (let i = at; i < end; i++) itemIndex.set(itemIds[i]!, i);
  }
  return { model, itemIds, itemIndex, scratch, maxPopularity, bytes: model.bytes + itemTableBytes(itemIds) + scratch.byteLength };
}
