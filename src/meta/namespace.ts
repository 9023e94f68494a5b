// The namespace: inodes and directory entries, and every POSIX metadata operation on them as one
// atomic commit. Mutations run under one mutex against write-through caches of inodes and dentries,
// so lookups and getattr are served from memory and stay coherent with what was committed.

import { LRUCache } from 'lru-cache';
import {
  codeOf, Exists, Invalid, IsDirectory, NameTooLong, NoAttribute, NotDirectory, NotEmpty, NotFound, NotPermitted,
  NotSupported, ReadOnly, StrataError,
} from '../errors.js';
import { retireBody } from './body-records.js';
import { keys, parseKey } from './keys.js';
import type { MetaKV } from './kv.js';
import { Mutex } from './mutex.js';
import {
  decode, encode, fileTypeOf, PERMISSION_BITS, ROOT_INO, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_ISGID, S_ISUID,
  S_IXGRP, type Dentry, type FileType, type Inode,
} from './records.js';
import { dentryCacheKey, parentOfDentryCacheKey, Txn } from './txn.js';
import { addUsage, countUsage, isNoChange, storedUsage, type UsageCounts } from './usage.js';

export const NAME_MAX_BYTES = 255;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
const XATTR_VALUE_MAX_BYTES = 64 * 1024;
/** File capabilities: the kernel asks for them before every write to a file, and at exec. */
export const CAPABILITY_XATTR = 'security.capability';
/**
 * Attributes asked of every file, and the volume-wide flag that records whether any inode ever had
 * one: security.capability before every write, security.selinux by `ls -l` for every entry.
 */
export const WATCHED_XATTRS = { [CAPABILITY_XATTR]: 'capabilities', 'security.selinux': 'selinux-labels' } as const;
export type WatchedXattr = keyof typeof WATCHED_XATTRS;

function isWatchedXattr(name: string): name is WatchedXattr {
  return Object.hasOwn(WATCHED_XATTRS, name);
}
/** The extended-attribute namespaces ext4 serves; it answers EOPNOTSUPP for any other prefix. */
const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.'];
const DIRECTORY_SIZE_BYTES = 4096;

export interface Caller {
  uid: number;
  gid: number;
}

export interface DirEntry {
  name: string;
  ino: number;
  type: FileType;
}

export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  sizeBytes?: number;
  atimeMs?: number;
  mtimeMs?: number;
  ctimeMs?: number;
}

/** How the namespace asks the file layer about open files (unlinked-but-open files live on). */
export interface OpenFileOracle {
  isOpen(ino: number): boolean;
}

export function validateName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw Invalid(`invalid file name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > NAME_MAX_BYTES) throw NameTooLong(`name is ${Buffer.byteLength(name)} bytes, the limit is ${NAME_MAX_BYTES}: ${name.slice(0, 40)}...`);
}

/** An xattr name outside the known namespaces is EOPNOTSUPP, a bare prefix EINVAL, as on ext4. */
function validateXattrName(name: string): void {
  const prefix = XATTR_NAMESPACES.find((candidate) => name.startsWith(candidate));
  if (prefix === undefined) throw NotSupported(`extended attribute ${JSON.stringify(name)} is not in the user, trusted or security namespace`);
  if (name === prefix) throw Invalid(`extended attribute name ${JSON.stringify(name)} has nothing after its namespace`);
}

function creationFailed(ino: number, cause: Error): StrataError {
  return new StrataError(codeOf(cause), `inode ${ino} was never made: the commit that carried its creation failed (${cause.message})`, { cause });
}

function changeFailed(ino: number, cause: Error): StrataError {
  return new StrataError(codeOf(cause), `an attribute change of inode ${ino} was lost: the commit that carried it failed (${cause.message})`, { cause });
}

/**
 * An LRU cache of at most `entries` entries, bounded by a size of one per entry rather than by
 * lru-cache's `max`, which allocates and fills arrays for every entry up front: this file's caches
 * took 150 ms of each volume open that way (a mount's start, and every command run without one).
 */
function entryBoundedCache<K extends {}, V extends {}>(entries: number, options: Pick<LRUCache.Options<K, V, unknown>, 'dispose'> = {}): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: entries, sizeCalculation: () => 1 });
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

export class Namespace {
  private readonly lock = new Mutex();
  private readonly inodeCache = entryBoundedCache<number, Inode>(200_000);
  /**
   * Directories whose every entry is in the dentry cache: made by this process (empty then, and each
   * commit since has updated the cache), with none of their entries evicted since. A name missing
   * from the cache is absent from such a directory without a read of the store; creating files in a
   * new directory (untar, cp -r, rsync) looks up each new name first.
   */
  private readonly completeDirs = entryBoundedCache<number, true>(100_000);
  private readonly dentryCache = entryBoundedCache<string, Dentry | false>(400_000, {
    dispose: (_dentry, cacheKey, reason) => {
      if (reason !== 'set') this.completeDirs.delete(parentOfDentryCacheKey(cacheKey));
    },
  });
  /** every extended attribute of an inode, by name: the kernel asks for security.capability on each write */
  private readonly xattrCache = entryBoundedCache<number, Map<string, Buffer>>(100_000);
  /** `<ino>/<name>` of attributes known to be absent, for inodes whose attributes are not all cached */
  private readonly xattrAbsent = entryBoundedCache<string, true>(100_000);
  /**
   * Counts commits applied to the caches. A read that missed the cache fills it only if no commit
   * was applied while it read the store: otherwise it could put back a value just replaced.
   */
  private commitsApplied = 0;
  private nextIno: number | undefined;
  /** Hears, before its commit, a watched attribute being set (see watchedXattrsPossible). */
  private watchedXattrSet: ((name: WatchedXattr) => void) | undefined;
  /** Inodes whose creation rode on a commit that failed, and why: their handles report it. */
  private readonly failedCreates = entryBoundedCache<number, Error>(10_000);
  /** Open inodes an attribute change of which rode on a commit that failed: their next close reports it. */
  private readonly failedChanges = entryBoundedCache<number, Error>(10_000);
  /** the usage counters as of the last commit; undefined until read, and after a failed commit */
  private usageCounts: UsageCounts | undefined;

  constructor(
    readonly kv: MetaKV,
    private readonly openFiles: OpenFileOracle,
    private readonly readOnly = false,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Creates the root directory of a new volume. */
  async initRoot(owner: Caller): Promise<void> {
    if (await this.kv.get(keys.inode(ROOT_INO))) return;
    const now = this.clock();
    const txn = new Txn();
    txn.putInode({ ino: ROOT_INO, mode: S_IFDIR | 0o755, uid: owner.uid, gid: owner.gid, nlink: 2, sizeBytes: DIRECTORY_SIZE_BYTES, atimeMs: now, mtimeMs: now, ctimeMs: now, birthtimeMs: now, generation: 0, parent: ROOT_INO }, null);
    txn.put(keys.counter('inode'), { next: ROOT_INO + 1 });
    await this.commit(txn);
  }

  /** Serializes a mutation with every other; the work builds and commits its own Txn. */
  mutate<T>(work: () => Promise<T>): Promise<T> {
    if (this.readOnly) return Promise.reject(ReadOnly('the volume is mounted read-only'));
    return this.lock.run(work);
  }

  async commit(txn: Txn, sync = false): Promise<number> {
    const counters = await this.countersAfter(txn);
    const version = await this.kv.commit(txn.mutations, { sync });
    if (counters) this.usageCounts = counters;
    this.applyToCaches(txn);
    return version;
  }

  /** Puts the usage counters `txn` makes into it, when it changes them, and returns them. */
  private async countersAfter(txn: Txn): Promise<UsageCounts | undefined> {
    const change = txn.usageChange();
    if (isNoChange(change)) return undefined;
    const counters = addUsage(await this.usage(), change);
    txn.put(keys.counter('usage'), counters);
    return counters;
  }

  /** Inodes, files, directories and bytes in files now (statfs, `strata status`); no scan. */
  async usage(): Promise<UsageCounts> {
    if (this.usageCounts) return this.usageCounts;
    const loaded = (await storedUsage(this.kv)) ?? (await countUsage(this.kv));
    // A commit made while this read has set newer counters.
    return (this.usageCounts ??= loaded);
  }

  /**
   * Reads the usage counters at open. A volume made before they existed gets them counted, once:
   * every inode read, a page at a time, and the result stored.
   */
  async loadUsage(): Promise<void> {
    const stored = await storedUsage(this.kv);
    if (stored) {
      this.usageCounts = stored;
      return;
    }
    const counted = await countUsage(this.kv);
    if (!this.readOnly) await this.kv.commit([{ type: 'put', key: keys.counter('usage'), value: encode(counted) }]);
    this.usageCounts = counted;
  }

  /**
   * Shows the txn at once and lets it ride on the next commit (MetaKV.commitSoon). For a create whose
   * file is written and flushed next, or an attribute change of an open file (tar and cp -p set
   * owner, mode and times before close): the publish commit carries it, one commit for all. If the
   * carrying commit fails, every cache is dropped (they showed the txn) and `ino` keeps the failure.
   */
  private async commitSoon(txn: Txn, ino: number, change: 'creation' | 'attributes'): Promise<void> {
    const counters = await this.countersAfter(txn);
    if (counters) this.usageCounts = counters;
    this.applyToCaches(txn);
    this.kv.commitSoon(txn.mutations, (err) => {
      (change === 'creation' ? this.failedCreates : this.failedChanges).set(ino, err);
      this.dropCaches();
    });
  }

  /**
   * Waits until what rides on a later commit for `ino` (its creation, an attribute change) is made,
   * and fails if it failed; a lost change is reported once.
   */
  async settle(ino: number): Promise<void> {
    await this.kv.settle();
    const failedCreate = this.failedCreates.get(ino);
    if (failedCreate) throw creationFailed(ino, failedCreate);
    const failedChange = this.failedChanges.get(ino);
    if (failedChange) {
      this.failedChanges.delete(ino);
      throw changeFailed(ino, failedChange);
    }
  }

  private dropCaches(): void {
    this.commitsApplied += 1;
    this.usageCounts = undefined;
    this.inodeCache.clear();
    this.dentryCache.clear();
    this.completeDirs.clear();
    this.xattrCache.clear();
    this.xattrAbsent.clear();
  }

  private applyToCaches(txn: Txn): void {
    this.commitsApplied += 1;
    for (const [ino, inode] of txn.inodes) {
      if (inode) this.inodeCache.set(ino, inode);
      else this.inodeCache.delete(ino);
    }
    for (const [cacheKey, { dentry }] of txn.dentries) this.dentryCache.set(cacheKey, dentry ?? false);
    for (const effect of txn.effects) effect();
  }

  /**
   * Whether any inode may carry each watched attribute. A volume-wide flag per name says so, turned on
   * for good by the first setxattr of that name; a volume without a flag (made before it existed) is
   * scanned once. `watcher` hears every later setxattr of a watched name before it is committed.
   */
  async watchedXattrsPossible(watcher: (name: WatchedXattr) => void): Promise<Map<WatchedXattr, boolean>> {
    this.watchedXattrSet = watcher;
    const possible = new Map<WatchedXattr, boolean>();
    const unflagged: WatchedXattr[] = [];
    for (const name of Object.keys(WATCHED_XATTRS) as WatchedXattr[]) {
      const stored = await this.kv.get(keys.counter(WATCHED_XATTRS[name]));
      if (stored) possible.set(name, decode<{ present: boolean }>(stored).present);
      else unflagged.push(name);
    }
    if (unflagged.length === 0) return possible;
    const [start, end] = keys.spaceRange('X');
    const names = new Set((await this.kv.scan(start, end)).map((entry) => parseKey.xattrName(entry.key)));
    for (const name of unflagged) possible.set(name, names.has(name));
    if (!this.readOnly) {
      await this.kv.commit(unflagged.map((name) => ({ type: 'put', key: keys.counter(WATCHED_XATTRS[name]), value: encode({ present: possible.get(name) }) })));
    }
    return possible;
  }

  // ---- reads -------------------------------------------------------------------------------

  async getattr(ino: number, atVersion?: number): Promise<Inode> {
    if (atVersion === undefined) {
      const cached = this.inodeCache.get(ino);
      if (cached) return cached;
    }
    const before = this.commitsApplied;
    const value = await this.kv.get(keys.inode(ino), atVersion);
    if (!value) {
      const failed = atVersion === undefined ? this.failedCreates.get(ino) : undefined;
      throw failed ? creationFailed(ino, failed) : NotFound(`no inode ${ino}`);
    }
    const inode = decode<Inode>(value);
    if (atVersion === undefined && this.commitsApplied === before) this.inodeCache.set(ino, inode);
    return inode;
  }

  async lookup(parent: number, name: string, atVersion?: number): Promise<Dentry> {
    if (Buffer.byteLength(name) > NAME_MAX_BYTES) throw NameTooLong(`name is longer than ${NAME_MAX_BYTES} bytes: ${name.slice(0, 40)}...`);
    const found = await this.findDentry(parent, name, atVersion);
    if (!found) throw NotFound(`${name} not found in directory ${parent}`);
    return found;
  }

  private async findDentry(parent: number, name: string, atVersion?: number): Promise<Dentry | undefined> {
    const cacheKey = dentryCacheKey(parent, name);
    if (atVersion === undefined) {
      const cached = this.dentryCache.get(cacheKey);
      if (cached !== undefined) return cached || undefined;
      if (this.completeDirs.has(parent)) return undefined;
    }
    const before = this.commitsApplied;
    const value = await this.kv.get(keys.dentry(parent, name), atVersion);
    const dentry = value ? decode<Dentry>(value) : undefined;
    if (atVersion === undefined && this.commitsApplied === before) this.dentryCache.set(cacheKey, dentry ?? false);
    return dentry;
  }

  /** Resolves an absolute path inside the volume to its inode. */
  async resolve(path: string, atVersion?: number): Promise<Inode> {
    let inode = await this.getattr(ROOT_INO, atVersion);
    for (const part of splitPath(path)) {
      if (part === '..') {
        inode = await this.getattr(inode.parent ?? ROOT_INO, atVersion);
        continue;
      }
      if ((inode.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`${path}: a component is not a directory`);
      const dentry = await this.lookup(inode.ino, part, atVersion).catch((err: unknown) => {
        if (err instanceof StrataError && err.code === 'ENOENT') throw NotFound(`${path}: no such file or directory`);
        throw err;
      });
      inode = await this.getattr(dentry.ino, atVersion);
    }
    return inode;
  }

  /**
   * `resolve` answered from the caches alone, with no promise: the inode, null when the caches know
   * the path is absent, or undefined when they cannot tell (a miss, `..`, a component that is not a
   * directory, an over-long name) and `resolve` must answer. A stat-heavy workload (ls -l, find,
   * rsync's scan, the kernel's lookup before each create) is mostly such calls.
   */
  resolveCached(path: string): Inode | null | undefined {
    let inode = this.inodeCache.get(ROOT_INO);
    for (const part of splitPath(path)) {
      if (inode === undefined || part === '..' || (inode.mode & S_IFMT) !== S_IFDIR) return undefined;
      const dentry = this.dentryCache.get(dentryCacheKey(inode.ino, part));
      if (dentry === undefined && !this.completeDirs.has(inode.ino)) return undefined;
      if (!dentry) return Buffer.byteLength(part) > NAME_MAX_BYTES ? undefined : null;
      inode = this.inodeCache.get(dentry.ino);
    }
    return inode;
  }

  /** The directory inode and final name of a path that is about to be created or removed. */
  async resolveParent(path: string, atVersion?: number): Promise<{ parent: Inode; name: string }> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw Exists(`${path} is the volume root`);
    const parent = await this.resolve(parts.join('/'), atVersion);
    if ((parent.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`${path}: a component is not a directory`);
    return { parent, name };
  }

  /** A page of a directory's entries in name order, starting after `after`. */
  async readdir(ino: number, options: { after?: string; limit?: number; atVersion?: number } = {}): Promise<DirEntry[]> {
    const dir = await this.getattr(ino, options.atVersion);
    if ((dir.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`inode ${ino} is not a directory`);
    const [start, end] = keys.dentryRange(ino, options.after);
    const entries = await this.kv.scan(start, end, { atVersion: options.atVersion, limit: options.limit });
    return entries.map((entry) => {
      const dentry = decode<Dentry>(entry.value);
      return { name: parseKey.dentryName(entry.key), ino: dentry.ino, type: dentry.type };
    });
  }

  async readlink(ino: number, atVersion?: number): Promise<string> {
    const inode = await this.getattr(ino, atVersion);
    if ((inode.mode & S_IFMT) !== S_IFLNK) throw Invalid(`inode ${ino} is not a symbolic link`);
    return inode.target ?? '';
  }

  // ---- creation ------------------------------------------------------------------------------

  /** Runs under the mutation lock; the counter is read once and then kept in memory. */
  private async allocateIno(txn: Txn): Promise<number> {
    if (this.nextIno === undefined) {
      const value = await this.kv.get(keys.counter('inode'));
      this.nextIno = value ? decode<{ next: number }>(value).next : ROOT_INO + 1;
    }
    const ino = this.nextIno;
    txn.put(keys.counter('inode'), { next: ino + 1 });
    txn.afterCommit(() => (this.nextIno = ino + 1));
    return ino;
  }

  /** Ownership and inherited bits of a new entry in `parent` (setgid directories pass their group on). */
  private newOwnership(parent: Inode, caller: Caller, mode: number): { uid: number; gid: number; mode: number } {
    if (!(parent.mode & S_ISGID)) return { uid: caller.uid, gid: caller.gid, mode };
    const isDir = (mode & S_IFMT) === S_IFDIR;
    let inherited = isDir ? mode | S_ISGID : mode;
    if (!isDir && caller.uid !== 0 && caller.gid !== parent.gid) inherited &= ~S_ISGID;
    return { uid: caller.uid, gid: parent.gid, mode: inherited };
  }

  private async createEntry(parentIno: number, name: string, mode: number, caller: Caller, extra: Partial<Inode> = {}, soon = false): Promise<Inode> {
    validateName(name);
    return this.mutate(async () => {
      const parent = await this.getattr(parentIno);
      if ((parent.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`inode ${parentIno} is not a directory`);
      if (parent.nlink === 0) throw NotFound(`directory ${parentIno} was removed`);
      if (await this.findDentry(parentIno, name)) throw Exists(`${name} already exists`);
      const now = this.clock();
      const txn = new Txn();
      const ino = await this.allocateIno(txn);
      const owner = this.newOwnership(parent, caller, mode);
      const isDir = (mode & S_IFMT) === S_IFDIR;
      const inode: Inode = {
        ino, mode: owner.mode, uid: owner.uid, gid: owner.gid, nlink: isDir ? 2 : 1,
        sizeBytes: isDir ? DIRECTORY_SIZE_BYTES : 0, atimeMs: now, mtimeMs: now, ctimeMs: now, birthtimeMs: now,
        generation: 0, ...(isDir ? { parent: parentIno } : {}), ...extra,
      };
      txn.putInode(inode, null);
      txn.putDentry(parentIno, name, { ino, type: fileTypeOf(mode) });
      txn.putInode({ ...parent, nlink: parent.nlink + (isDir ? 1 : 0), mtimeMs: now, ctimeMs: now }, parent);
      txn.afterCommit(() => this.xattrCache.set(ino, new Map()));
      if (isDir) txn.afterCommit(() => this.completeDirs.set(ino, true));
      if (soon) await this.commitSoon(txn, ino, 'creation');
      else await this.commit(txn);
      return inode;
    });
  }

  mkdir(parent: number, name: string, mode: number, caller: Caller): Promise<Inode> {
    return this.createEntry(parent, name, S_IFDIR | (mode & PERMISSION_BITS), caller);
  }

  /**
   * `commitSoon`: the new file is visible at once and its record rides on the next commit, which its
   * first flush makes (see commitSoon); `settle` reports whether it was made.
   */
  create(parent: number, name: string, mode: number, caller: Caller, options: { commitSoon?: boolean } = {}): Promise<Inode> {
    return this.createEntry(parent, name, S_IFREG | (mode & PERMISSION_BITS), caller, {}, options.commitSoon ?? false);
  }

  mknod(parent: number, name: string, mode: number, rdev: number, caller: Caller): Promise<Inode> {
    const type = mode & S_IFMT;
    if (type === S_IFREG || type === 0) return this.create(parent, name, mode, caller);
    if (type !== S_IFIFO) throw NotPermitted(`only regular files and fifos can be made with mknod here`);
    return this.createEntry(parent, name, S_IFIFO | (mode & PERMISSION_BITS), caller, { rdev });
  }

  symlink(parent: number, name: string, target: string, caller: Caller): Promise<Inode> {
    if (Buffer.byteLength(target) > 4095) throw NameTooLong(`symlink target is longer than 4095 bytes`);
    return this.createEntry(parent, name, S_IFLNK | 0o777, { uid: caller.uid, gid: caller.gid }, { target, sizeBytes: Buffer.byteLength(target) });
  }

  link(ino: number, newParent: number, newName: string): Promise<Inode> {
    validateName(newName);
    return this.mutate(async () => {
      const inode = await this.getattr(ino);
      if ((inode.mode & S_IFMT) === S_IFDIR) throw NotPermitted(`hard links to directories are not allowed`);
      if (inode.nlink === 0) throw NotFound(`inode ${ino} was removed`);
      const parent = await this.getattr(newParent);
      if ((parent.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`inode ${newParent} is not a directory`);
      if (await this.findDentry(newParent, newName)) throw Exists(`${newName} already exists`);
      const now = this.clock();
      const txn = new Txn();
      const linked = { ...inode, nlink: inode.nlink + 1, ctimeMs: now };
      txn.putInode(linked, inode);
      txn.putDentry(newParent, newName, { ino, type: fileTypeOf(inode.mode) });
      txn.putInode({ ...parent, mtimeMs: now, ctimeMs: now }, parent);
      await this.commit(txn);
      return linked;
    });
  }

  // ---- removal -------------------------------------------------------------------------------

  /** Drops one link of `inode` in `txn`; the last link retires the inode unless it is still open. */
  private async dropLink(txn: Txn, inode: Inode, now: number): Promise<void> {
    const isDir = (inode.mode & S_IFMT) === S_IFDIR;
    const nlink = isDir ? 0 : inode.nlink - 1;
    if (nlink > 0) {
      txn.putInode({ ...inode, nlink, ctimeMs: now }, inode);
      return;
    }
    if (this.openFiles.isOpen(inode.ino)) {
      txn.putInode({ ...inode, nlink: 0, ctimeMs: now }, inode);
      txn.put(keys.orphan(inode.ino), { sinceMs: now });
      return;
    }
    await this.retireInode(txn, inode, now);
  }

  private async retireInode(txn: Txn, inode: Inode, now: number): Promise<void> {
    const { ino } = inode;
    await retireBody(this.kv, txn, ino, now);
    const [start, end] = keys.xattrRange(ino);
    for (const entry of await this.kv.scan(start, end)) txn.del(entry.key);
    txn.delInode(inode);
    txn.afterCommit(() => this.xattrCache.delete(ino));
  }

  /** Called when the last handle of an unlinked file closes: its inode and body go now. */
  releaseOrphan(ino: number): Promise<void> {
    return this.lock.run(async () => {
      const inode = await this.getattr(ino).catch(() => undefined);
      const txn = new Txn();
      txn.del(keys.orphan(ino));
      if (inode && inode.nlink === 0) await this.retireInode(txn, inode, this.clock());
      await this.commit(txn);
    });
  }

  /** Retires every orphan left by a mount that stopped without releasing them (crash recovery). */
  async recoverOrphans(): Promise<number[]> {
    const [start, end] = keys.spaceRange('O');
    const recovered: number[] = [];
    for (const entry of await this.kv.scan(start, end)) {
      const ino = parseKey.ino(entry.key);
      await this.releaseOrphan(ino);
      recovered.push(ino);
    }
    return recovered;
  }

  unlink(parentIno: number, name: string): Promise<void> {
    return this.mutate(async () => {
      const dentry = await this.lookup(parentIno, name);
      const inode = await this.getattr(dentry.ino);
      if ((inode.mode & S_IFMT) === S_IFDIR) throw IsDirectory(`${name} is a directory`);
      const parent = await this.getattr(parentIno);
      const now = this.clock();
      const txn = new Txn();
      txn.delDentry(parentIno, name);
      txn.putInode({ ...parent, mtimeMs: now, ctimeMs: now }, parent);
      await this.dropLink(txn, inode, now);
      await this.commit(txn);
    });
  }

  private async isEmptyDir(ino: number): Promise<boolean> {
    const [start, end] = keys.dentryRange(ino);
    return (await this.kv.scan(start, end, { limit: 1 })).length === 0;
  }

  rmdir(parentIno: number, name: string): Promise<void> {
    if (name === '.') return Promise.reject(Invalid(`cannot remove '.'`));
    if (name === '..') return Promise.reject(NotEmpty(`cannot remove '..'`));
    return this.mutate(async () => {
      const dentry = await this.lookup(parentIno, name);
      const inode = await this.getattr(dentry.ino);
      if ((inode.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`${name} is not a directory`);
      if (!(await this.isEmptyDir(inode.ino))) throw NotEmpty(`directory ${name} is not empty`);
      const parent = await this.getattr(parentIno);
      const now = this.clock();
      const txn = new Txn();
      txn.delDentry(parentIno, name);
      txn.putInode({ ...parent, nlink: parent.nlink - 1, mtimeMs: now, ctimeMs: now }, parent);
      await this.dropLink(txn, inode, now);
      await this.commit(txn);
    });
  }

  private async isAncestor(ancestor: number, ino: number): Promise<boolean> {
    let current = ino;
    for (let depth = 0; depth < 4096; depth++) {
      if (current === ancestor) return true;
      if (current === ROOT_INO) return false;
      current = (await this.getattr(current)).parent ?? ROOT_INO;
    }
    return false;
  }

  rename(srcParentIno: number, srcName: string, dstParentIno: number, dstName: string): Promise<void> {
    validateName(dstName);
    return this.mutate(async () => {
      const source = await this.lookup(srcParentIno, srcName);
      const srcInode = await this.getattr(source.ino);
      const srcIsDir = (srcInode.mode & S_IFMT) === S_IFDIR;
      const dstParent = await this.getattr(dstParentIno);
      if ((dstParent.mode & S_IFMT) !== S_IFDIR) throw NotDirectory(`inode ${dstParentIno} is not a directory`);
      if (srcIsDir && (await this.isAncestor(srcInode.ino, dstParentIno))) {
        throw Invalid(`cannot move directory ${srcName} into itself`);
      }
      const target = await this.findDentry(dstParentIno, dstName);
      if (target?.ino === source.ino) return;
      let targetInode: Inode | undefined;
      if (target) {
        targetInode = await this.getattr(target.ino);
        const targetIsDir = (targetInode.mode & S_IFMT) === S_IFDIR;
        if (srcIsDir && !targetIsDir) throw NotDirectory(`${dstName} is not a directory`);
        if (!srcIsDir && targetIsDir) throw IsDirectory(`${dstName} is a directory`);
        if (targetIsDir && !(await this.isEmptyDir(target.ino))) throw NotEmpty(`directory ${dstName} is not empty`);
      }
      const now = this.clock();
      const txn = new Txn();
      txn.delDentry(srcParentIno, srcName);
      txn.putDentry(dstParentIno, dstName, source);
      const sameParent = srcParentIno === dstParentIno;
      let srcParentNlink = 0;
      let dstParentNlink = 0;
      if (srcIsDir && !sameParent) {
        srcParentNlink -= 1;
        dstParentNlink += 1;
      }
      if (targetInode) {
        if ((targetInode.mode & S_IFMT) === S_IFDIR) dstParentNlink -= 1;
        await this.dropLink(txn, targetInode, now);
      }
      txn.putInode({ ...srcInode, ctimeMs: now, ...(srcIsDir ? { parent: dstParentIno } : {}) }, srcInode);
      const srcParent = await this.getattr(srcParentIno);
      if (sameParent) {
        txn.putInode({ ...srcParent, nlink: srcParent.nlink + srcParentNlink + dstParentNlink, mtimeMs: now, ctimeMs: now }, srcParent);
      } else {
        txn.putInode({ ...srcParent, nlink: srcParent.nlink + srcParentNlink, mtimeMs: now, ctimeMs: now }, srcParent);
        txn.putInode({ ...dstParent, nlink: dstParent.nlink + dstParentNlink, mtimeMs: now, ctimeMs: now }, dstParent);
      }
      await this.commit(txn);
    });
  }

  // ---- attributes ----------------------------------------------------------------------------

  /**
   * Applies attribute changes other than size (the file layer owns body changes and passes
   * sizeBytes only together with the body commit). ctime moves with every change, as on ext4.
   * `commitSoon`: the change shows at once and rides on the next commit, which the close of the open
   * file makes at the latest (see commitSoon); the caller says the file is open.
   */
  setattr(ino: number, changes: AttrChanges, options: { commitSoon?: boolean } = {}): Promise<Inode> {
    return this.mutate(async () => {
      const inode = await this.getattr(ino);
      const txn = new Txn();
      const updated = applyAttrChanges(inode, changes, this.clock());
      txn.putInode(updated, inode);
      if (options.commitSoon) await this.commitSoon(txn, ino, 'attributes');
      else await this.commit(txn);
      return updated;
    });
  }

  // ---- extended attributes -------------------------------------------------------------------

  async getxattr(ino: number, name: string, atVersion?: number): Promise<Buffer> {
    await this.getattr(ino, atVersion);
    validateXattrName(name);
    const value = atVersion === undefined ? await this.liveXattr(ino, name) : await this.storedXattr(ino, name, atVersion);
    if (!value) throw NoAttribute(`no extended attribute ${name} on inode ${ino}`);
    return value;
  }

  async listxattr(ino: number, atVersion?: number): Promise<string[]> {
    await this.getattr(ino, atVersion);
    // In key order, as a scan of the store lists them.
    return [...(await this.xattrsOf(ino, atVersion)).keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /**
   * One live attribute. Without the inode's attributes cached it is one lookup (loading them all is
   * a scan, and `ls -l` asks once per file), and an absent name is remembered: the kernel asks for
   * security.capability before every write.
   */
  private async liveXattr(ino: number, name: string): Promise<Buffer | undefined> {
    const all = this.xattrCache.get(ino);
    if (all) return all.get(name);
    const absentKey = `${ino}/${name}`;
    if (this.xattrAbsent.has(absentKey)) return undefined;
    const before = this.commitsApplied;
    const value = await this.storedXattr(ino, name);
    if (!value && this.commitsApplied === before) this.xattrAbsent.set(absentKey, true);
    return value;
  }

  private async storedXattr(ino: number, name: string, atVersion?: number): Promise<Buffer | undefined> {
    const stored = await this.kv.get(keys.xattr(ino, name), atVersion);
    return stored && Buffer.from(decode<{ value: string }>(stored).value, 'base64');
  }

  /** Every extended attribute of `ino`; the live ones from the cache. */
  private async xattrsOf(ino: number, atVersion?: number): Promise<Map<string, Buffer>> {
    if (atVersion === undefined) {
      const cached = this.xattrCache.get(ino);
      if (cached) return cached;
    }
    const before = this.commitsApplied;
    const [start, end] = keys.xattrRange(ino);
    const entries = await this.kv.scan(start, end, { atVersion });
    const values = new Map(entries.map((entry) => [parseKey.xattrName(entry.key), Buffer.from(decode<{ value: string }>(entry.value).value, 'base64')]));
    if (atVersion === undefined && this.commitsApplied === before) this.xattrCache.set(ino, values);
    return values;
  }

  setxattr(ino: number, name: string, value: Buffer, flags: number): Promise<void> {
    if (name === '' || Buffer.byteLength(name) > 255) return Promise.reject(Invalid(`bad extended attribute name ${JSON.stringify(name)}`));
    if (value.length > XATTR_VALUE_MAX_BYTES) return Promise.reject(new StrataError('ENOSPC', `extended attribute ${name} is over ${XATTR_VALUE_MAX_BYTES} bytes`));
    return this.mutate(async () => {
      const inode = await this.getattr(ino);
      validateXattrName(name);
      if (name.startsWith('user.') && (inode.mode & S_IFMT) !== S_IFREG && (inode.mode & S_IFMT) !== S_IFDIR) {
        throw NotPermitted(`user extended attributes are only for regular files and directories`);
      }
      const exists = (await this.xattrsOf(ino)).has(name);
      if (flags & XATTR_CREATE && exists) throw Exists(`extended attribute ${name} already exists`);
      if (flags & XATTR_REPLACE && !exists) throw NoAttribute(`no extended attribute ${name}`);
      const txn = new Txn();
      if (isWatchedXattr(name)) {
        this.watchedXattrSet?.(name);
        txn.put(keys.counter(WATCHED_XATTRS[name]), { present: true });
      }
      txn.put(keys.xattr(ino, name), { value: value.toString('base64') });
      txn.putInode({ ...inode, ctimeMs: this.clock() }, inode);
      const stored = Buffer.from(value);
      txn.afterCommit(() => {
        this.xattrCache.get(ino)?.set(name, stored);
        this.xattrAbsent.delete(`${ino}/${name}`);
      });
      await this.commit(txn);
    });
  }

  removexattr(ino: number, name: string): Promise<void> {
    return this.mutate(async () => {
      const inode = await this.getattr(ino);
      validateXattrName(name);
      if (!(await this.xattrsOf(ino)).has(name)) throw NoAttribute(`no extended attribute ${name}`);
      const txn = new Txn();
      txn.del(keys.xattr(ino, name));
      txn.putInode({ ...inode, ctimeMs: this.clock() }, inode);
      txn.afterCommit(() => this.xattrCache.get(ino)?.delete(name));
      await this.commit(txn);
    });
  }
}

/** The inode after a chmod/chown/utimens-style change, with the side effects ext4 applies. */
export function applyAttrChanges(inode: Inode, changes: AttrChanges, now: number): Inode {
  const updated: Inode = { ...inode, ctimeMs: changes.ctimeMs ?? now };
  if (changes.mode !== undefined) updated.mode = (inode.mode & S_IFMT) | (changes.mode & PERMISSION_BITS);
  if (changes.uid !== undefined || changes.gid !== undefined) {
    if (changes.uid !== undefined && changes.uid !== -1) updated.uid = changes.uid;
    if (changes.gid !== undefined && changes.gid !== -1) updated.gid = changes.gid;
    if ((inode.mode & S_IFMT) !== S_IFDIR) {
      // chown clears setuid, and setgid when group-execute marks it as a real setgid bit.
      updated.mode &= ~S_ISUID;
      if (updated.mode & S_IXGRP) updated.mode &= ~S_ISGID;
    }
  }
  if (changes.atimeMs !== undefined) updated.atimeMs = changes.atimeMs;
  if (changes.mtimeMs !== undefined) updated.mtimeMs = changes.mtimeMs;
  if (changes.sizeBytes !== undefined) updated.sizeBytes = changes.sizeBytes;
  return updated;
}

