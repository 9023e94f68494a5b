// Objects kept as records of the volume's metadata store. Write-back mode, and a mount on a local
// object store, stage small objects here: staging one is a single metadata commit, where a file
// costs a new file and rename in a fresh folder chain (three mkdirs for a new file's first block),
// and the record survives a crash of the mount process as every commit does.

import { NotFound } from '../errors.js';
import { keys, parseKey } from '../meta/keys.js';
import type { MetaKV, Mutation } from '../meta/kv.js';
import type { ByteRange, ObjectInfo, ObjectStore } from './store.js';
import { assertValidKey, assertValidPrefix, assertValidRange } from './validate.js';

const LIST_PAGE = 256;
const DELETE_BATCH = 1024;

export class MetadataObjectStore implements ObjectStore {
  readonly description = 'metadata store';
  /** Deletions asked for while another commits; they go together in the next commit. */
  private nextDeletion: { objectKeys: string[]; done: Promise<void> } | null = null;
  private deleting: Promise<void> = Promise.resolve();

  /** `kv` stays the volume's: closing this store leaves it open. */
  constructor(private readonly kv: MetaKV) {}

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    const mutations = this.mutationsFor(key, body);
    await ready;
    await this.kv.commit(mutations);
  }

  /** What stores `body` under `key`, for a caller that commits it in a batch of its own. */
  mutationsFor(key: string, body: Uint8Array): Mutation[] {
    assertValidKey(key);
    return [{ type: 'put', key: keys.stagedBytes(key), value: Buffer.from(body.buffer, body.byteOffset, body.byteLength) }];
  }

  /** A synced commit syncs the metadata log, and with it every commit before it. */
  async persist(objectKeys: string[]): Promise<void> {
    if (objectKeys.length > 0) await this.kv.commit([], { sync: true });
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    const stored = await this.kv.get(keys.stagedBytes(key));
    if (!stored) throw NotFound(`object ${key} not found in the ${this.description}`);
    const offset = Math.min(range?.offset ?? 0, stored.length);
    const wantBytes = Math.min(range?.length ?? Infinity, stored.length - offset);
    if (into && into.length >= wantBytes) {
      stored.copy(into, 0, offset, offset + wantBytes);
      return into.subarray(0, wantBytes);
    }
    return stored.subarray(offset, offset + wantBytes);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    const stored = await this.kv.get(keys.stagedBytes(key));
    return stored ? { key, sizeBytes: stored.length } : null;
  }

  /** Uploaders delete one key each, several at once: one commit takes all that are waiting. */
  async delete(objectKeys: string[]): Promise<void> {
    objectKeys.forEach(assertValidKey);
    if (objectKeys.length === 0) return;
    if (!this.nextDeletion) {
      const batch: string[] = [];
      const done = this.deleting.then(() => {
        this.nextDeletion = null;
        return this.commitDeletions(batch);
      });
      this.nextDeletion = { objectKeys: batch, done };
      this.deleting = done.catch(() => undefined);
    }
    this.nextDeletion.objectKeys.push(...objectKeys);
    return this.nextDeletion.done;
  }

  private async commitDeletions(objectKeys: string[]): Promise<void> {
    for (let i = 0; i < objectKeys.length; i += DELETE_BATCH) {
      const deletions: Mutation[] = objectKeys.slice(i, i + DELETE_BATCH).map((key) => ({ type: 'del', key: keys.stagedBytes(key) }));
      await this.kv.commit(deletions);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let [start, end] = keys.stagedBytesRange(prefix);
    for (;;) {
      const page = await this.kv.scan(start, end, { limit: LIST_PAGE });
      for (const entry of page) yield { key: parseKey.objectKey(entry.key), sizeBytes: entry.value.length };
      if (page.length < LIST_PAGE) return;
      // Keys end in NUL, which no object key holds, so no key extends the last one: one byte more sorts
      // after it and before every key that follows it.
      start = Buffer.concat([page[page.length - 1]!.key, Buffer.from([0])]);
    }
  }

  async close(): Promise<void> {}
}
