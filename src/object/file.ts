// The `file` object backend: each object is one file under a root folder, at the path its key names
// (`blocks/v/1/2/0/0` -> `<root>/blocks/v/1/2/0/0`). Writes go to a temp file that is renamed into
// place, so a reader sees a whole object or none.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Invalid, IOError, NoSpace, NotFound, StrataError } from '../errors.js';
import { readObject, syncFileSystem, syncPaths, type ObjectRead } from '../block-io.js';
import { isDirectWritable } from './aligned-buffer.js';
import { FsWorker } from './fs-worker.js';
import { getThenDigest, type ByteRange, type DigestedObject, type ObjectInfo, type ObjectStore } from './store.js';
import { assertValidKey, assertValidPrefix, assertValidRange, compareKeys } from './validate.js';

/** Names of in-progress writes; never listed, and no key may end in such a name. */
const TEMP_PREFIX = '.tmp-';
const DELETE_CONCURRENCY = 64;
/** Objects up to this size are written by a worker thread (see fs-worker.ts). */
const SMALL_OBJECT_BYTES = 256 * 1024;
/**
 * Objects are written this much per call. Several uploads run at once, and larger calls cost the
 * kernel more CPU per byte: a 1 GiB fsync'd write measured 1.8-2.0 s of the mount's CPU with
 * 128 KiB calls, 2.1-2.6 s with writeFile's 512 KiB and 3.4-4.3 s with whole 4 MiB objects.
 */
const WRITE_CALL_BYTES = 128 * 1024;
/**
 * A whole block in a page-aligned buffer is written with O_DIRECT, this much per call. Past the
 * page cache, 4 x 256 MiB written at once with fsync (.probe/par4.sh, 2 alternating rounds) ran
 * 1054-1103 MB/s against 426-576, with half the mount's CPU. Per call, 512 KiB ran 859-1181 MB/s
 * (.probe/wsplit.sh), 1 MiB 1070-1290, 2 MiB 496-755 and 4 MiB 433-472.
 */
const DIRECT_WRITE_CALL_BYTES = 1024 * 1024;
/**
 * Objects are read this much per call. Each call is a trip through the thread pool that costs the
 * main thread about 9 us: a cold 1 GiB read (.probe/mainread.sh, 1 MiB FUSE requests, 6 rounds
 * each) ran 1.4-1.7 GB/s with 270-360 ms of main-thread CPU in 1 MiB calls, 1.4-1.6 GB/s with
 * 330-400 ms in 128 KiB calls, and 1.3-1.5 GB/s in whole 4 MiB calls, which wait for the disk
 * longer per block.
 */
const READ_CALL_BYTES = 1024 * 1024;
/**
 * From this many objects on, persist() syncs the whole file system (syncfs) in one call: each
 * object and its folder would cost a sync apiece, and small objects have a folder each. A rename
 * is durable only once its folder is synced, so persist() syncs folders too.
 */
const SYNCFS_MIN_KEYS = 64;
/** Entries of a large folder a listing looks at before their turn (see walk). */
const LIST_AHEAD = 16;

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** "No object here": the key's folder part may be missing or a file, or the key may be a folder. */
function isAbsent(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

export class FileObjectStore implements ObjectStore {
  readonly description: string;
  /** Folders known to exist; objects are never removed with their folder, so this never goes stale. */
  private readonly knownDirs = new Set<string>();
  private readonly smallWrites = new FsWorker('small-writes');
  /** Whether whole aligned blocks are written with O_DIRECT: until the file system refuses it. */
  private directWrites = true;
  /** Starts each larger object on its way to disk once written (see `flushBehind`); null when off. */
  private readonly flushes: FsWorker | null;

  /**
   * `flushBehind`: once a larger object written through the page cache is in place, a worker
   * flushes it to disk in the background, one at a time. A writer's fsync then waits for the last
   * few objects only, not for all it wrote: the kernel would otherwise hold them in the page cache
   * until the fsync.
   */
  constructor(private readonly root: string, options: { flushBehind: boolean } = { flushBehind: true }) {
    this.description = `file:${root}`;
    this.flushes = options.flushBehind ? new FsWorker('flush-behind') : null;
  }

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    const tempPath = join(dir, tempNameFor(path));
    try {
      // No temporary file before the caller's record is in: after a crash, that record is what
      // leads the staged cleanup to this key and its temporary files.
      await ready;
      if (body.byteLength <= SMALL_OBJECT_BYTES) {
        await this.smallWrites.write(dir, !this.knownDirs.has(dir), tempPath, path, body);
        this.knownDirs.add(dir);
        return;
      }
      if (!this.knownDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.knownDirs.add(dir);
      }
      const direct = this.directWrites && isDirectWritable(body) && (await this.writeDirect(tempPath, body));
      if (!direct) await writeWhole(await open(tempPath, 'wx'), body, WRITE_CALL_BYTES);
      await rename(tempPath, path);
      // Only an early start: persist() still syncs, and reports what fails; a deleted object has nothing to flush.
      if (!direct) this.flushes?.flush(path).catch(() => undefined);
    } catch (err) {
      await rm(tempPath, { force: true }).catch(() => undefined);
      throw this.fail(err, 'writing', key);
    }
  }

  /**
   * Writes `body` to the new file `tempPath` past the page cache; false (and no file) when this file
   * system refuses O_DIRECT, which then stays off. The data has gone to the device when the call
   * returns: no second copy in the page cache, and only the device's own cache left for persist().
   */
  private async writeDirect(tempPath: string, body: Uint8Array): Promise<boolean> {
    try {
      await writeWhole(await open(tempPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_DIRECT, 0o666), body, DIRECT_WRITE_CALL_BYTES);
      return true;
    } catch (err) {
      if (errnoOf(err) !== 'EINVAL') throw err;
      // A refused open has already created the file (ramfs does this).
      await rm(tempPath, { force: true });
      this.directWrites = false;
      return false;
    }
  }

  /** The objects, then their folders, synced in one thread-pool job (scripts/block-io). */
  async persist(keys: string[]): Promise<void> {
    if (keys.length >= SYNCFS_MIN_KEYS) return this.syncFileSystem();
    const paths = keys.map((key) => this.pathOf(key));
    const dirs = [...new Set(paths.map((path) => dirname(path)))];
    try {
      await syncPaths(paths, dirs);
    } catch (err) {
      const failedAt = paths.indexOf((err as NodeJS.ErrnoException).path ?? '');
      if (failedAt >= 0) throw this.fail(err, 'syncing', keys[failedAt]!);
      throw IOError(`syncing folder ${(err as NodeJS.ErrnoException).path} of ${this.description} failed: ${(err as Error).message}`, err);
    }
  }

  /** syncfs(2) of the file system the store is on: every object and folder written so far is on disk after it. */
  private async syncFileSystem(): Promise<void> {
    try {
      await syncFileSystem(this.root);
    } catch (err) {
      throw IOError(`syncing the file system of ${this.description} failed: ${(err as Error).message}`, err);
    }
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    const path = this.pathOf(key);
    if (range) assertValidRange(key, range);
    let file: FileHandle | undefined;
    try {
      file = await open(path, 'r');
      const stats = await file.stat();
      if (!stats.isFile()) throw this.notFound(key);
      const sizeBytes = stats.size;
      const offset = range?.offset ?? 0;
      const wantBytes = Math.max(0, Math.min(range?.length ?? Infinity, sizeBytes - offset));
      const buffer = into && into.length >= wantBytes ? into : Buffer.allocUnsafe(wantBytes);
      let filled = 0;
      while (filled < wantBytes) {
        const { bytesRead } = await file.read(buffer, filled, Math.min(READ_CALL_BYTES, wantBytes - filled), offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } catch (err) {
      throw this.fail(err, 'reading', key);
    } finally {
      await file?.close();
    }
  }

  /** One job in the thread pool opens, reads, digests and closes the object (scripts/block-io). */
  async getDigested(key: string, into?: Buffer): Promise<DigestedObject> {
    const path = this.pathOf(key);
    // Without a buffer, the job only learns that the object does not fit, and get() sizes one.
    const target = into ?? Buffer.allocUnsafe(0);
    let read: ObjectRead;
    try {
      read = await readObject(path, target);
    } catch (err) {
      throw this.fail(err, 'reading', key);
    }
    if (read.sizeBytes < 0) throw this.notFound(key);
    if (read.digestUri === null) return getThenDigest(this, key);
    return { bytes: target.subarray(0, read.bytesRead), digestUri: read.digestUri };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const stats = await stat(path);
      return stats.isFile() ? { key, sizeBytes: stats.size } : null;
    } catch (err) {
      if (isAbsent(err)) return null;
      throw this.fail(err, 'inspecting', key);
    }
  }

  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    for (let i = 0; i < paths.length; i += DELETE_CONCURRENCY) {
      await Promise.all(
        paths.slice(i, i + DELETE_CONCURRENCY).map(async (path, j) => {
          try {
            await unlink(path);
          } catch (err) {
            if (!isAbsent(err)) throw this.fail(err, 'deleting', keys[i + j]!);
          }
        }),
      );
    }
    await this.removeInterruptedWrites(paths);
  }

  /**
   * Removes what writes of these objects left behind when their process died between creating the
   * temporary file and renaming it into place. A key is deleted only once nothing will write it
   * (staged cleanup after a crash, or GC), so its temporary files are garbage too.
   */
  private async removeInterruptedWrites(paths: string[]): Promise<void> {
    const byDir = new Map<string, Set<string>>();
    for (const path of paths) {
      const names = byDir.get(dirname(path)) ?? new Set<string>();
      names.add(TEMP_PREFIX + basename(path) + '.');
      byDir.set(dirname(path), names);
    }
    for (const [dir, prefixes] of byDir) {
      const names = await readdir(dir).catch(() => [] as string[]);
      const stale = names.filter((name) => name.startsWith(TEMP_PREFIX) && [...prefixes].some((prefix) => name.startsWith(prefix)));
      await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Start at the deepest folder the prefix names in full; its last segment only filters.
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.walk(folderKey, prefix);
  }

  async close(): Promise<void> {
    await Promise.all([this.smallWrites.close(), this.flushes?.close()]);
  }

  /**
   * Yields the objects under the folder for `folderKey` (`''` or ending in '/') in key order.
   * Sorting each folder's names with '/' appended to subfolders gives the global key order, since
   * every key under `a/` sorts exactly where `a/` does among its siblings.
   *
   * Each object costs a stat, and each small object a chain of folders of its own, so one call at
   * a time made a listing a trip through the thread pool per folder and per object. A folder with
   * more than LIST_AHEAD entries (a volume's inode folders) is streamed, and LIST_AHEAD of its
   * entries are looked at ahead of their turn: each subfolder read whole (one inode's objects),
   * each object stat'ed. Smaller folders are streamed in order.
   */
  private async *walk(folderKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const children = await this.childrenOf(folderKey, prefix);
    if (children.length <= LIST_AHEAD) {
      for (const child of children) {
        if (child.isDir) yield* this.walk(child.key, prefix);
        else {
          const info = await this.objectInfo(child.key);
          if (info) yield info;
        }
      }
      return;
    }
    const ahead: Array<Promise<ObjectInfo[]>> = [];
    const lookAt = (i: number) => {
      const child = children[i]!;
      const found = child.isDir ? this.collect(child.key, prefix) : this.objectInfo(child.key).then((info) => (info ? [info] : []));
      // Read later, or never if the caller stops early: a failure is thrown where it is awaited.
      found.catch(() => undefined);
      ahead[i] = found;
    };
    for (let i = 0; i < LIST_AHEAD; i++) lookAt(i);
    for (let i = 0; i < children.length; i++) {
      if (i + LIST_AHEAD < children.length) lookAt(i + LIST_AHEAD);
      const found = await ahead[i]!;
      delete ahead[i];
      yield* found;
    }
  }

  /** Every object under the folder for `folderKey`, in key order. */
  private async collect(folderKey: string, prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    for await (const info of this.walk(folderKey, prefix)) found.push(info);
    return found;
  }

  /** The folder's objects and subfolders that may hold keys under `prefix`, in key order. */
  private async childrenOf(folderKey: string, prefix: string): Promise<Array<{ key: string; isDir: boolean }>> {
    let entries;
    try {
      entries = await readdir(join(this.root, folderKey), { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return [];
      throw this.fail(err, 'listing', folderKey || prefix);
    }
    return entries
      .filter((e) => (e.isFile() && !e.name.startsWith(TEMP_PREFIX)) || e.isDirectory())
      .map((e) => ({ key: folderKey + e.name + (e.isDirectory() ? '/' : ''), isDir: e.isDirectory() }))
      .filter((c) => c.key.startsWith(prefix) || (c.isDir && prefix.startsWith(c.key)))
      .sort((a, b) => compareKeys(a.key, b.key));
  }

  /** The object's size; null when it was deleted since its folder was read. */
  private async objectInfo(key: string): Promise<ObjectInfo | null> {
    try {
      const stats = await stat(join(this.root, key));
      return { key, sizeBytes: stats.size };
    } catch (err) {
      if (isAbsent(err)) return null;
      throw this.fail(err, 'listing', key);
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (basename(key).startsWith(TEMP_PREFIX)) {
      throw Invalid(`invalid object key ${JSON.stringify(key)}: ${TEMP_PREFIX}* names are reserved`);
    }
    return join(this.root, ...key.split('/'));
  }

  private fail(err: unknown, action: string, key: string): StrataError {
    if (err instanceof StrataError) return err;
    if (action === 'reading' && isAbsent(err)) return this.notFound(key, err);
    const where = `object ${key} in ${this.description}`;
    const code = errnoOf(err);
    if (code === 'ENOSPC' || code === 'EDQUOT') return NoSpace(`no space left ${action} ${where}`, err);
    return IOError(`${action} ${where} failed: ${(err as Error).message}`, err);
  }

  private notFound(key: string, cause?: unknown): StrataError {
    return NotFound(`object ${key} not found in ${this.description}`, cause);
  }
}

/** Writes all of `body` to the new file `file` in calls of `callBytes`, and closes it. */
async function writeWhole(file: FileHandle, body: Uint8Array, callBytes: number): Promise<void> {
  try {
    for (let written = 0; written < body.byteLength; ) {
      written += (await file.write(body, written, Math.min(callBytes, body.byteLength - written), written)).bytesWritten;
    }
  } finally {
    await file.close();
  }
}

/** `.tmp-<object name>.<random>`: unique, and tied to its object so that deleting the object can sweep it. */
function tempNameFor(path: string): string {
  return `${TEMP_PREFIX}${basename(path)}.${randomBytes(8).toString('hex')}`;
}

