// Write-back in front of a volume's object store. In write-back mode a put lands in a staging
// folder in the volume's home and returns; uploaders copy each staged object to the object store
// in the background and then delete the staged copy. Reads, deletes and listings see both places,
// so a published body is readable wherever its objects are. Objects left in the staging folder by
// a mount that stopped or crashed are uploaded the next time the volume opens, whatever the mode.

import { isStrataError } from '../errors.js';
import type { LogLevel } from '../log.js';
import type { FileObjectStore } from './file.js';
import type { ByteRange, ObjectInfo, ObjectStore } from './store.js';

export interface WritebackOptions {
  /** whether new objects go to the staging folder (true) or straight to the object store */
  stageWrites: boolean;
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

export class WritebackObjectStore implements ObjectStore {
  readonly description: string;
  /** keys in the staging folder that are not uploaded yet, oldest first, with when their upload may start */
  private readonly waiting = new Map<string, number>();
  /** uploads running now, by key */
  private readonly uploading = new Map<string, Promise<void>>();
  /** keys deleted while their upload ran: the upload deletes its copy again once it lands */
  private readonly deletedWhileUploading = new Set<string>();
  private readonly failing = new Set<string>();
  private running = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private drained: Array<() => void> = [];

  private constructor(
    private readonly staging: FileObjectStore,
    private readonly remote: ObjectStore,
    private readonly options: WritebackOptions,
  ) {
    this.description = options.stageWrites ? `${remote.description} (write-back staging ${staging.description})` : remote.description;
  }

  /** Opens the store and starts uploading whatever an earlier mount left staged. */
  static async open(staging: FileObjectStore, remote: ObjectStore, options: WritebackOptions): Promise<WritebackObjectStore> {
    const store = new WritebackObjectStore(staging, remote, options);
    let leftOver = 0;
    for await (const { key } of staging.list('')) {
      store.waiting.set(key, 0);
      leftOver += 1;
    }
    if (leftOver > 0) options.log('info', 'uploading objects an earlier mount staged', { objects: leftOver });
    store.pump();
    return store;
  }

  /** Objects staged and not yet uploaded (including those uploading now). */
  get pendingUploads(): number {
    return this.waiting.size + this.uploading.size;
  }

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    if (!this.options.stageWrites) return this.remote.put(key, body, ready);
    await this.staging.put(key, body, ready);
    this.waiting.set(key, Date.now() + this.options.uploadDelayMs);
    this.pump();
  }

  /** Staged objects are synced in the staging folder; uploaded ones by the object store. */
  async persist(keys: string[]): Promise<void> {
    const staged = keys.filter((key) => this.isStaged(key));
    const uploaded = keys.filter((key) => !this.isStaged(key));
    await Promise.all([staged.length > 0 ? this.persistStaged(staged) : undefined, uploaded.length > 0 ? this.remote.persist(uploaded) : undefined]);
  }

  /** An upload may finish and remove a staged copy while it is being synced: that key is in the object store then. */
  private async persistStaged(keys: string[]): Promise<void> {
    try {
      await this.staging.persist(keys);
    } catch {
      await Promise.all(
        keys.map(async (key) => {
          try {
            await this.staging.persist([key]);
          } catch (err) {
            if (this.isStaged(key)) throw err;
            await this.remote.persist([key]);
          }
        }),
      );
    }
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    if (this.isStaged(key)) {
      try {
        return await this.staging.get(key, range, into);
      } catch (err) {
        // Uploaded and removed from staging between the check and the read.
        if (!isStrataError(err, 'ENOENT')) throw err;
      }
    }
    return this.remote.get(key, range, into);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    if (this.isStaged(key)) {
      const info = await this.staging.head(key);
      if (info) return info;
    }
    return this.remote.head(key);
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      this.waiting.delete(key);
      if (this.uploading.has(key)) this.deletedWhileUploading.add(key);
    }
    await this.staging.delete(keys);
    await this.remote.delete(keys);
  }

  /** Both places, in key order, each key once. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const staged: ObjectInfo[] = [];
    for await (const info of this.staging.list(prefix)) staged.push(info);
    let next = 0;
    for await (const info of this.remote.list(prefix)) {
      while (next < staged.length && staged[next]!.key < info.key) yield staged[next++]!;
      if (next < staged.length && staged[next]!.key === info.key) next += 1;
      yield info;
    }
    while (next < staged.length) yield staged[next++]!;
  }

  /** Waits for every staged object to be uploaded (or to have failed once more), then closes both stores. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pendingUploads > 0) {
      this.options.log('info', 'uploading staged objects before closing', { objects: this.pendingUploads });
      await new Promise<void>((resolve) => {
        this.drained.push(resolve);
        this.pump();
      });
    }
    this.closed = true;
    clearTimeout(this.wakeTimer);
    await Promise.all([this.staging.close(), this.remote.close()]);
    if (this.pendingUploads === 0) await this.options.removeStaging();
    else this.options.log('warn', 'staged objects stay for the next mount to upload', { objects: this.pendingUploads });
  }

  private isStaged(key: string): boolean {
    return this.waiting.has(key) || this.uploading.has(key);
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
    try {
      const bytes = await this.staging.get(key);
      await this.remote.put(key, bytes);
      // The object store holds it now: reads and syncs go there before the staged copy goes.
      this.uploading.delete(key);
      if (this.deletedWhileUploading.delete(key)) await this.remote.delete([key]);
      else await this.staging.delete([key]);
      this.failing.delete(key);
    } catch (err) {
      if (this.deletedWhileUploading.delete(key) || isStrataError(err, 'ENOENT')) return;
      // Staged objects are never dropped: the upload is tried again after a pause, and at the next open.
      this.waiting.set(key, 0);
      if (!this.failing.has(key)) this.options.log('error', 'upload of a staged object failed; it stays staged and is tried again', { objectKey: key, cause: err instanceof Error ? err.message : String(err) });
      this.failing.add(key);
      setTimeout(() => {
        this.failing.delete(key);
        this.pump();
      }, this.options.retryDelayMs).unref();
    }
  }
}
