// Write-back in front of a volume's object store. In write-back mode a put is staged in the volume's
// home and returns: small objects as records of the metadata store, the others in a staging folder.
// On a local object store only the small objects a publish commit carries are staged (in that commit).
// Uploaders copy each staged object to the object store in the background and then delete the
// staged copy. Reads, deletes and listings see every place, so a published body is readable
// wherever its objects are. Objects left staged by a mount that stopped or crashed are uploaded the
// next time the volume opens, whatever the mode.

import { isStrataError } from '../errors.js';
import type { LogLevel } from '../log.js';
import type { Mutation } from '../meta/kv.js';
import type { FileObjectStore } from './file.js';
import type { MetadataObjectStore } from './metadata-store.js';
import { getDigested, type BatchStaging, type ByteRange, type DigestedObject, type ObjectInfo, type ObjectStore } from './store.js';
import { compareKeys } from './validate.js';

/** Moved objects are synced this long after the first of a batch, or once this many wait. */
const MOVED_SYNC_DELAY_MS = 5_000;
const MOVED_SYNC_BATCH = 4_096;

/** Objects up to this size are staged in the metadata store; a commit there is cheaper than a file. */
export const METADATA_STAGED_BYTES = 64 * 1024;

/**
 * Up to this many bytes of small staged objects are also kept in memory until they are moved, so
 * the mover need not read them back from the metadata store: a read there is a trip through the
 * thread pool and the main thread's event loop for each file of a burst of small files.
 */
const HELD_STAGED_BYTES = 16 * 1024 * 1024;

export interface Staging {
  folder: FileObjectStore;
  metadata: MetadataObjectStore;
}

export interface WritebackOptions {
  /** whether new objects are staged (true) or go straight to the object store */
  stageWrites: boolean;
  /**
   * Whether small objects join the publish commit that first uses them even when other writes go
   * straight to the object store: for an object store on local disk, where that commit is as
   * durable as a file written there, and cheaper than a new file in a new folder.
   */
  stagePublished: boolean;
  /** uploads running at once */
  concurrency: number;
  /**
   * How long a staged object waits before its upload starts. Uploads then run after a burst of
   * writes, not during it, and a file deleted within the delay is never uploaded at all.
   */
  uploadDelayMs: number;
  /** the pause before an upload that failed is tried again */
  retryDelayMs: number;
  log: (level: LogLevel, message: string, fields?: object) => void;
  /** removes the emptied staging folder (its per-inode folders stay behind objects) */
  removeStaging: () => Promise<void>;
}

export class WritebackObjectStore implements ObjectStore, BatchStaging {
  readonly description: string;
  /** keys staged and not uploaded yet, oldest first, with when their upload may start */
  private readonly waiting = new Map<string, number>();
  /** where each staged key is, until the object store holds it */
  private readonly stagedIn = new Map<string, ObjectStore>();
  /** uploads running now, by key */
  private readonly uploading = new Map<string, Promise<void>>();
  /** keys deleted while their upload ran: the upload deletes its copy again once it lands */
  private readonly deletedWhileUploading = new Set<string>();
  private readonly failing = new Set<string>();
  /** copies of small staged objects, for their upload; bounded by HELD_STAGED_BYTES */
  private readonly held = new Map<string, Buffer>();
  private heldBytes = 0;
  /**
   * Keys copied to the object store whose staged copy stays until a sync makes the copy durable:
   * the staged one may already be (a synced commit, an fsync'd file). Synced in batches.
   */
  private readonly moved = new Map<string, ObjectStore>();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncingMoved: Promise<void> | null = null;
  private running = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private drained: Array<() => void> = [];

  private constructor(
    private readonly staging: Staging,
    private readonly remote: ObjectStore,
    private readonly options: WritebackOptions,
  ) {
    const where = `${staging.folder.description} and the ${staging.metadata.description}`;
    this.description = options.stageWrites ? `${remote.description} (write-back staging ${where})` : remote.description;
  }

  /** Opens the store and starts uploading whatever an earlier mount left staged. */
  static async open(staging: Staging, remote: ObjectStore, options: WritebackOptions): Promise<WritebackObjectStore> {
    const store = new WritebackObjectStore(staging, remote, options);
    let leftOver = 0;
    for (const place of [staging.folder, staging.metadata]) {
      for await (const { key } of place.list('')) {
        store.waiting.set(key, 0);
        store.stagedIn.set(key, place);
        leftOver += 1;
      }
    }
    if (leftOver > 0) options.log('info', 'uploading objects an earlier mount staged', { objects: leftOver });
    store.pump();
    return store;
  }

  /** Objects staged and not yet uploaded (including those uploading now, and those awaiting their sync). */
  get pendingUploads(): number {
    return this.waiting.size + this.uploading.size + this.moved.size;
  }

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    if (!this.options.stageWrites) return this.remote.put(key, body, ready);
    const place = body.byteLength <= METADATA_STAGED_BYTES ? this.staging.metadata : this.staging.folder;
    await place.put(key, body, ready);
    this.staged(key, place, place === this.staging.metadata ? body : undefined);
  }

  /** Small objects join the publish commit that first uses them (see file-body.ts). */
  mutationsFor(key: string, body: Uint8Array): Mutation[] | undefined {
    if (!(this.options.stageWrites || this.options.stagePublished) || body.byteLength > METADATA_STAGED_BYTES) return undefined;
    return this.staging.metadata.mutationsFor(key, body);
  }

  committed(key: string, body: Uint8Array): void {
    this.staged(key, this.staging.metadata, body);
  }

  /** `body` (the caller's, which it may reuse) is held for the upload if it fits. */
  private staged(key: string, place: ObjectStore, body?: Uint8Array): void {
    if (body && !this.held.has(key) && this.heldBytes + body.byteLength <= HELD_STAGED_BYTES) {
      this.held.set(key, Buffer.from(body));
      this.heldBytes += body.byteLength;
    }
    this.stagedIn.set(key, place);
    this.waiting.set(key, Date.now() + this.options.uploadDelayMs);
    this.pump();
  }

  /** Staged objects are synced where they are staged; uploaded ones by the object store. */
  async persist(keys: string[]): Promise<void> {
    const inFolder = keys.filter((key) => this.stagedIn.get(key) === this.staging.folder);
    const inMetadata = keys.filter((key) => this.stagedIn.get(key) === this.staging.metadata);
    const uploaded = keys.filter((key) => !this.stagedIn.has(key));
    await Promise.all([
      inFolder.length > 0 ? this.persistInFolder(inFolder) : undefined,
      this.staging.metadata.persist(inMetadata),
      uploaded.length > 0 ? this.remote.persist(uploaded) : undefined,
    ]);
  }

  /** An upload may finish and remove a staged file while it is being synced: that key is in the object store then. */
  private async persistInFolder(keys: string[]): Promise<void> {
    try {
      await this.staging.folder.persist(keys);
    } catch {
      await Promise.all(
        keys.map(async (key) => {
          try {
            await this.staging.folder.persist([key]);
          } catch (err) {
            if (this.stagedIn.has(key)) throw err;
            await this.remote.persist([key]);
          }
        }),
      );
    }
  }

  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    return this.readFromWhereItIs(key, (store) => store.get(key, range, into));
  }

  getDigested(key: string, into?: Buffer): Promise<DigestedObject> {
    return this.readFromWhereItIs(key, (store) => getDigested(store, key, into));
  }

  /** `read` from the staging place that holds `key`, else from the remote store. */
  private async readFromWhereItIs<T>(key: string, read: (store: ObjectStore) => Promise<T>): Promise<T> {
    const place = this.stagedIn.get(key);
    if (place) {
      try {
        return await read(place);
      } catch (err) {
        // Uploaded and removed from staging between the check and the read.
        if (!isStrataError(err, 'ENOENT')) throw err;
      }
    }
    return read(this.remote);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const place = this.stagedIn.get(key);
    if (place) {
      const info = await place.head(key);
      if (info) return info;
    }
    return this.remote.head(key);
  }

  /**
   * The staging folder is asked for every key: deleting there also sweeps what a crashed write
   * left. A metadata record only exists for a key this store tracks, so only those cost a commit.
   */
  async delete(keys: string[]): Promise<void> {
    const inMetadata = keys.filter((key) => (this.stagedIn.get(key) ?? this.moved.get(key)) === this.staging.metadata);
    for (const key of keys) {
      this.takeHeld(key);
      this.moved.delete(key);
      this.waiting.delete(key);
      if (this.uploading.has(key)) this.deletedWhileUploading.add(key);
      else this.stagedIn.delete(key);
    }
    await Promise.all([this.staging.folder.delete(keys), this.staging.metadata.delete(inMetadata)]);
    await this.remote.delete(keys);
  }

  /** Every place, in key order, each key once. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const staged: ObjectInfo[] = [];
    for (const place of [this.staging.folder, this.staging.metadata]) {
      for await (const info of place.list(prefix)) staged.push(info);
    }
    staged.sort((a, b) => compareKeys(a.key, b.key));
    let next = 0;
    for await (const info of this.remote.list(prefix)) {
      while (next < staged.length && compareKeys(staged[next]!.key, info.key) < 0) yield staged[next++]!;
      if (next < staged.length && staged[next]!.key === info.key) next += 1;
      yield info;
    }
    while (next < staged.length) yield staged[next++]!;
  }

  /** Waits for every staged object to be uploaded (or to have failed once more), then closes both stores. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pendingUploads > 0) {
      // Moving small objects to a local object store is routine, not news.
      this.options.log(this.options.stageWrites ? 'info' : 'debug', 'uploading staged objects before closing', { objects: this.pendingUploads });
      await new Promise<void>((resolve) => {
        this.drained.push(resolve);
        this.pump();
      });
    }
    clearTimeout(this.syncTimer);
    await this.syncMoved();
    if (this.moved.size > 0) this.options.log('warn', 'moved objects could not be synced; their staged copies stay for the next mount', { objects: this.moved.size });
    this.closed = true;
    clearTimeout(this.wakeTimer);
    await Promise.all([this.staging.folder.close(), this.staging.metadata.close(), this.remote.close()]);
    if (this.pendingUploads === 0) await this.options.removeStaging();
    else this.options.log('warn', 'staged objects stay for the next mount to upload', { objects: this.pendingUploads });
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency) {
      const key = this.nextWaiting();
      if (key === undefined) break;
      this.running += 1;
      const upload = this.upload(key).finally(() => {
        this.uploading.delete(key);
        this.running -= 1;
        this.pump();
      });
      this.uploading.set(key, upload);
    }
    // A close waits for the uploads to finish, or for every one left to have failed once more.
    if (this.drained.length > 0 && this.running === 0 && [...this.waiting.keys()].every((key) => this.failing.has(key))) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  /**
   * The oldest waiting key whose delay is over (a closing store waits for none) and that has not
   * failed since the last pass; failed ones wait for their retry. Wakes the pump when the next
   * delay ends.
   */
  private nextWaiting(): string | undefined {
    const now = Date.now();
    for (const [key, startAtMs] of this.waiting) {
      if (this.failing.has(key)) continue;
      if (startAtMs > now && !this.closing) {
        if (!this.wakeTimer) {
          this.wakeTimer = setTimeout(() => {
            this.wakeTimer = undefined;
            this.pump();
          }, startAtMs - now);
          this.wakeTimer.unref();
        }
        return undefined;
      }
      this.waiting.delete(key);
      return key;
    }
    return undefined;
  }

  private async upload(key: string): Promise<void> {
    const place = this.stagedIn.get(key);
    if (!place) return;
    try {
      const bytes = this.takeHeld(key) ?? (await place.get(key));
      await this.remote.put(key, bytes);
      // The object store holds it now: reads and syncs go there before the staged copy goes.
      this.uploading.delete(key);
      this.stagedIn.delete(key);
      if (this.deletedWhileUploading.delete(key)) await this.remote.delete([key]);
      else this.unstageOnceSynced(key, place);
      this.failing.delete(key);
    } catch (err) {
      if (this.deletedWhileUploading.delete(key) || isStrataError(err, 'ENOENT')) {
        this.stagedIn.delete(key);
        return;
      }
      // Staged objects are never dropped: the upload is tried again after a pause, and at the next open.
      this.stagedIn.set(key, place);
      this.waiting.set(key, 0);
      if (!this.failing.has(key)) this.options.log('error', 'upload of a staged object failed; it stays staged and is tried again', { objectKey: key, cause: err instanceof Error ? err.message : String(err) });
      this.failing.add(key);
      setTimeout(() => {
        this.failing.delete(key);
        this.pump();
      }, this.options.retryDelayMs).unref();
    }
  }

  private takeHeld(key: string): Buffer | undefined {
    const bytes = this.held.get(key);
    if (bytes) {
      this.held.delete(key);
      this.heldBytes -= bytes.byteLength;
    }
    return bytes;
  }

  private unstageOnceSynced(key: string, place: ObjectStore): void {
    this.moved.set(key, place);
    if (this.moved.size >= MOVED_SYNC_BATCH) void this.syncMoved();
    else this.syncTimer ??= setTimeout(() => void this.syncMoved(), MOVED_SYNC_DELAY_MS).unref();
  }

  /** Syncs the moved objects in one persist, then deletes their staged copies; a failure is tried again later. */
  private syncMoved(): Promise<void> {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.syncingMoved ??= (async () => {
      while (this.moved.size > 0) {
        const batch = [...this.moved];
        try {
          await this.remote.persist(batch.map(([key]) => key));
          // A key deleted meanwhile (GC) had its staged copy deleted with it.
          const synced = batch.filter(([key, place]) => this.moved.get(key) === place);
          for (const place of new Set(synced.map(([, place]) => place))) {
            const keys = synced.filter(([, where]) => where === place).map(([key]) => key);
            await place.delete(keys);
            for (const key of keys) this.moved.delete(key);
          }
        } catch (err) {
          this.options.log('error', 'syncing moved objects failed; their staged copies stay and the sync is tried again', { objects: batch.length, cause: err instanceof Error ? err.message : String(err) });
          if (!this.closing) this.syncTimer = setTimeout(() => void this.syncMoved(), this.options.retryDelayMs).unref();
          return;
        }
      }
    })().finally(() => (this.syncingMoved = null));
    return this.syncingMoved;
  }
}
