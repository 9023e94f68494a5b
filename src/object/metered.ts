// MeteredObjectStore: wraps any ObjectStore (once, in Volume.open) to time every request, count
// failures and bytes, and count deleted objects. A failed request's error carries the object key
// (`objectKey`), so the one log line that reports the failure can name it.

import { performance } from 'node:perf_hooks';
import { parseBlockObjectKey } from '../layout/object-keys.js';
import { recordObjectRequest, recordObjectsDeleted, type ObjectOp } from '../metrics.js';
import { getDigested, type ByteRange, type DigestedObject, type ObjectInfo, type ObjectStore } from './store.js';

export class MeteredObjectStore implements ObjectStore {
  constructor(private readonly inner: ObjectStore) {}

  get description(): string {
    return this.inner.description;
  }

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    await this.timed('put', key, () => this.inner.put(key, body, ready), () => body.byteLength);
  }

  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    return this.timed('get', key, () => this.inner.get(key, range, into), (bytes) => bytes.length);
  }

  getDigested(key: string, into?: Buffer): Promise<DigestedObject> {
    return this.timed('get', key, () => getDigested(this.inner, key, into), (object) => object.bytes.length);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.timed('head', key, () => this.inner.head(key));
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return this.inner.delete(keys);
    await this.timed('delete', keys[0]!, () => this.inner.delete(keys));
    recordObjectsDeleted(keys.length);
  }

  persist(keys: string[]): Promise<void> {
    return this.inner.persist(keys);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const startedMs = performance.now();
    let ok = false;
    try {
      yield* this.inner.list(prefix);
      ok = true;
    } catch (err) {
      throw withObjectKey(err, prefix);
    } finally {
      recordObjectRequest('list', startedMs, ok);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async timed<T>(op: ObjectOp, key: string, request: () => Promise<T>, bytesOf?: (result: T) => number): Promise<T> {
    const startedMs = performance.now();
    try {
      const result = await request();
      recordObjectRequest(op, startedMs, true, bytesOf?.(result) ?? 0);
      return result;
    } catch (err) {
      recordObjectRequest(op, startedMs, false);
      throw withObjectKey(err, key);
    }
  }
}

/** Marks `err` with the object key of the request that failed, unless it already names one. */
function withObjectKey(err: unknown, key: string): unknown {
  if (err !== null && typeof err === 'object' && !('objectKey' in err) && Object.isExtensible(err)) {
    Object.defineProperty(err, 'objectKey', { value: key, enumerable: false, configurable: true, writable: true });
  }
  return err;
}

/**
 * The object key an error is about: the `objectKey` a MeteredObjectStore put on it or on one of its
 * causes, else a block key its message names (a checksum mismatch, for example); undefined if none.
 */
export function objectKeyOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const key = (e as { objectKey?: unknown }).objectKey;
    if (typeof key === 'string') return key;
  }
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    for (const word of e.message.split(/[\s,:;()]+/)) if (parseBlockObjectKey(word)) return word;
  }
  return undefined;
}
