// The object store boundary: immutable objects addressed by key. Every backend (file, s3) implements
// exactly this; the engine never knows which one it talks to. Keys come from layout/keys.ts only.

import { blockDigest } from '../layout/digest.js';
import type { Mutation } from '../meta/kv.js';

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
}

export interface ByteRange {
  /** first byte, inclusive */
  offset: number;
  /** number of bytes */
  length: number;
}

/** A whole object and its block digest (layout/digest.ts). */
export interface DigestedObject {
  bytes: Buffer;
  digestUri: string;
}

export interface ObjectStore {
  /** A short human name for logs and `strata status`, for example `file:/home/u/.strata/default/objects`. */
  readonly description: string;
  /**
   * Writes a whole object. A key is written once; the write is atomic (readers see all or nothing).
   * Nothing of the object (not even a temporary file) is written before `ready` resolves: it is
   * the caller's record that the object exists, which cleanup after a crash follows. If `ready`
   * rejects, nothing is written.
   */
  put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void>;
  /**
   * Makes objects written by put survive a machine crash (fsync's promise). A put alone only has
   * to survive a crash of this process; stores whose put is already durable (S3) do nothing here.
   */
  persist(keys: string[]): Promise<void>;
  /**
   * Reads the whole object, or `range` of it. Throws StrataError ENOENT naming the key when absent.
   * With `into`, bytes that fit are read into it and the result is a view of it (a reused buffer
   * spares the page faults and GC work of a fresh one); otherwise the result is a new buffer.
   */
  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer>;
  /**
   * The whole object, as `get` reads it, and its block digest, where the store can compute both in
   * one step off the main thread; stores without it are read by `getDigested` below.
   */
  getDigested?(key: string, into?: Buffer): Promise<DigestedObject>;
  /** Size of the object, or null when it does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Deletes the objects; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}

/**
 * A store that keeps small objects in the metadata store (write-back mode) can let a writer stage
 * one in the writer's own commit instead of putting it.
 */
export interface BatchStaging {
  /** The mutations that stage `body` as object `key` in the caller's commit; undefined: put it instead. */
  mutationsFor(key: string, body: Uint8Array): Mutation[] | undefined;
  /** The commit that held those mutations of `body` is in: the object exists from now on. */
  committed(key: string, body: Uint8Array): void;
}

/** The whole object and its block digest: in one step where `store` can, else a get, then blockDigest. */
export function getDigested(store: ObjectStore, key: string, into?: Buffer): Promise<DigestedObject> {
  return store.getDigested ? store.getDigested(key, into) : getThenDigest(store, key, into);
}

/** A get of the whole object, then its blockDigest. */
export async function getThenDigest(store: ObjectStore, key: string, into?: Buffer): Promise<DigestedObject> {
  const bytes = await store.get(key, undefined, into);
  return { bytes, digestUri: await blockDigest(bytes) };
}
