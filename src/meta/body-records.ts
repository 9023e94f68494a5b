// Reading and retiring a file body's records: the body descriptor and the chunk manifests, and the
// GC queue records for objects a commit makes unreachable.

import { keys, parseKey } from './keys.js';
import type { MetaKV } from './kv.js';
import { decode, type BodyDescriptor, type GcQueueRecord } from './records.js';
import type { Txn } from './txn.js';
import { stackedEntries, type ChunkManifest } from '../layout/manifest.js';

export async function loadManifests(kv: MetaKV, ino: number, atVersion?: number): Promise<Map<number, ChunkManifest>> {
  const [start, end] = keys.manifestRange(ino);
  const manifests = new Map<number, ChunkManifest>();
  for (const entry of await kv.scan(start, end, { atVersion })) {
    manifests.set(parseKey.manifestChunk(entry.key), decode<ChunkManifest>(entry.value));
  }
  return manifests;
}

export async function loadBody(kv: MetaKV, ino: number, atVersion?: number): Promise<BodyDescriptor | undefined> {
  const value = await kv.get(keys.body(ino), atVersion);
  return value && decode<BodyDescriptor>(value);
}

/** Queues objects for GC in `txn`; the record's commit version is the version that removed them. */
export function queueObjects(txn: Txn, objectKeys: Iterable<string>, nowMs: number): void {
  for (const objectKey of objectKeys) {
    const record: GcQueueRecord = { queuedAtMs: nowMs };
    txn.put(keys.gcQueue(objectKey), record);
  }
}

/** Adds to `txn` the removal of a whole body: descriptor, manifests, and every object queued for GC. */
export async function retireBody(kv: MetaKV, txn: Txn, ino: number, nowMs: number): Promise<void> {
  const manifests = await loadManifests(kv, ino);
  for (const [chunkIndex, manifest] of manifests) {
    txn.del(keys.manifest(ino, chunkIndex));
    queueObjects(txn, stackedEntries(manifest).map((entry) => entry.objectKey), nowMs);
  }
  txn.del(keys.body(ino));
}
