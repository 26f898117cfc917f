import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7, validate as uuidValidate } from 'uuid';

/** Internal ids are time-ordered UUIDs (v7): index-friendly and sortable by creation. */
export const newId = (): string => uuidv7();

export const isUuid = (value: string): boolean => uuidValidate(value);

/** One-shot `crypto.hash` (Node >= 20.12): no Hash object per call (every API-key request hashes its key). */
export const sha256Hex = (value: string): string => hash('sha256', value, 'hex');

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random token of `length` base62 characters (about 5.95 bits each), from the CSPRNG. */
export function randomToken(length: number): string {
  const out: string[] = [];
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out.push(BASE62[b % 62]!); // 248 = 62*4: no modulo bias
    }
  }
  return out.join('');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
