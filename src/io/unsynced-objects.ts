// The objects that publishes committed without a sync, by inode. fsync(2) makes every earlier write
// of a file durable, whichever handle wrote it and even after a close (ext4 writes all of the file's
// dirty pages): a file's fsync persists its objects listed here, besides what it publishes itself.

import type { ObjectStore } from '../object/store.js';

/** Persists `keys`; an object deleted since (GC of a replaced generation) has nothing left to sync. */
async function persistExisting(store: ObjectStore, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  try {
    await store.persist(keys);
  } catch (err) {
    const found = await Promise.all(keys.map((key) => store.head(key)));
    const existing = keys.filter((_, i) => found[i] !== null);
    if (existing.length === keys.length) throw err;
    await store.persist(existing);
  }
}

export class UnsyncedObjects {
  private readonly byIno = new Map<number, string[]>();
  private count = 0;
  private flushing: Promise<void> | null = null;

  /**
   * Past `limit` keys (a volume whose files are never fsynced), all of them are persisted in the
   * background and forgotten, so the list stays bounded; `onFlushError` hears a failure.
   */
  constructor(
    private readonly store: ObjectStore,
    private readonly limit: number,
    private readonly onFlushError: (err: unknown) => void,
  ) {}

  add(ino: number, keys: string[]): void {
    if (keys.length === 0) return;
    const listed = this.byIno.get(ino);
    if (listed) listed.push(...keys);
    else this.byIno.set(ino, [...keys]);
    this.count += keys.length;
    if (this.count > this.limit && !this.flushing) this.flushing = this.flushAll().finally(() => (this.flushing = null));
  }

  /** Persists what earlier publishes of `ino` left unsynced; on failure the keys stay listed for the next fsync. */
  async persist(ino: number): Promise<void> {
    const keys = this.take(ino);
    try {
      await persistExisting(this.store, keys);
    } catch (err) {
      this.add(ino, keys);
      throw err;
    }
  }

  private take(ino: number): string[] {
    const keys = this.byIno.get(ino) ?? [];
    this.byIno.delete(ino);
    this.count -= keys.length;
    return keys;
  }

  private async flushAll(): Promise<void> {
    for (const ino of [...this.byIno.keys()]) {
      await this.persist(ino).catch(this.onFlushError);
    }
  }
}
