// The FUSE adapter: each fuse-native operation resolves its path, calls the engine, and answers the
// kernel. Errors become errno in mount/errno.ts only. Paths under /.snapshots/<name>/ are served
// read-only from the pinned version; /.snapshots and /.stats are reachable but never listed.

import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { NoAttribute, NotFound, ReadOnly, StrataError } from '../src/errors.js';
import { FileBody } from '../src/io/file-body.js';
import { recordFuseBytes, recordFuseOp } from '../src/metrics.js';
import { objectKeyOf } from '../src/object/metered.js';
import { XATTR_CREATE, type AttrChanges, type Caller } from '../src/meta/namespace.js';
import { S_IFDIR, S_IFMT, S_IFREG, ROOT_INO, type Inode } from '../src/meta/records.js';
import { findPin, listPins } from '../src/snapshot/pins.js';
import type { Volume } from '../src/volume.js';
import { ERRNO, errnoOf } from './errno.js';
import { HandleTable, type FileHandle } from './handles.js';
import { isPlainLivePath, resolveVirtual, type VirtualTarget } from './virtual-paths.js';
import { toStat, type FuseStat } from './stat.js';

const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_APPEND = fsConstants.O_APPEND;

type Reply = (errno: number, ...values: unknown[]) => void;

export interface AdapterOptions {
  readOnly: boolean;
  /** mount a pinned snapshot: every path is read from this version */
  snapshotVersion?: number;
  /** the caller of the operation being dispatched; valid only synchronously at a handler's start */
  callerOf: () => Caller;
  log: (message: string, fields?: object) => void;
  /** the text of the virtual /.stats file */
  statsText: () => Promise<string>;
  /** makes the kernel drop the attributes it caches of an inode under any of its names */
  forgetCachedAttrs: (ino: number) => void;
}

export function makeOperations(volume: Volume, options: AdapterOptions) {
  const ns = volume.namespace;
  const handles = new HandleTable();

  /** Wraps an async engine call: success replies with its values, failure with its errno. Each
   *  answer is timed into the op's latency histogram; an EIO is logged once, with path, key and cause. */
  const answer = (op: string, path: string | null, reply: Reply, work: () => Promise<unknown[] | void>, startedMs = performance.now()) => {
    work().then(
      (values) => {
        recordFuseOp(op, startedMs, 0);
        reply(0, ...(values ?? []));
      },
      (err: unknown) => {
        const errno = errnoOf(err);
        recordFuseOp(op, startedMs, errno);
        if (errno === -constants.errno.EIO) options.log('operation failed', failure(op, path ?? '<unlinked>', err));
        reply(errno);
      },
    );
  };

  /** A null path is a handle whose name is gone (unlinked, or renamed over): fuse-native passes null
   *  then (flag_nullpath_ok). Path-based work on it answers ENOENT, as libfuse did before. */
  const target = async (path: string | null): Promise<VirtualTarget> => {
    if (path === null) throw NotFound('the file has no name any more (unlinked)');
    return resolveVirtual(path, options.snapshotVersion, (name) => findPin(volume, name));
  };

  /** The inode at `path` and the version it is read at; null for the virtual entries, which have none. */
  const inodeAt = async (path: string): Promise<{ inode: Inode; atVersion?: number } | null> => {
    const t = await target(path);
    if (t.kind === 'snapshots-root' || t.kind === 'stats') return null;
    return { inode: await ns.resolve(t.path, t.atVersion), atVersion: t.atVersion };
  };

  /** The path of a change; EROFS for read-only mounts and anything inside a snapshot. */
  const writable = async (path: string | null): Promise<string> => {
    const t = await target(path);
    if (options.readOnly || t.kind !== 'live') throw ReadOnly(`${path} is read-only`);
    return t.path;
  };

  const liveStat = async (inode: Inode): Promise<FuseStat> => {
    const open = volume.files.peek(inode.ino);
    return toStat(inode, open ? await open : undefined);
  };

  /**
   * chmod, chown and utimens: an open file's change rides on its next commit (its close's at the
   * latest). The new attributes go back with the answer: libfuse asks for them right after, and
   * the addon answers that with these (patched v7).
   */
  const changeAttrs = async (inode: Inode, changes: AttrChanges): Promise<[FuseStat]> => {
    const changed = await ns.setattr(inode.ino, changes, { commitSoon: volume.files.isOpen(inode.ino) });
    return [await liveStat(changed)];
  };

  /** statOf from the caches, with no promise: null when the path is known absent, undefined when
   *  only statOf can answer (a miss, a virtual path, a snapshot, an open file). */
  const cachedStatOf = (path: string): FuseStat | null | undefined => {
    if (!isPlainLivePath(path, options.snapshotVersion)) return undefined;
    const inode = ns.resolveCached(path);
    if (!inode) return inode;
    return volume.files.peek(inode.ino) ? undefined : toStat(inode);
  };

  const statOf = async (path: string | null): Promise<FuseStat> => {
    const t = await target(path);
    const root = await ns.getattr(ROOT_INO);
    if (t.kind === 'snapshots-root') return toStat({ ...root, mode: S_IFDIR | 0o555, ino: 0x7fff_fff0, nlink: 2 }, undefined, false);
    if (t.kind === 'stats') return toStat({ ...root, mode: S_IFREG | 0o444, ino: 0x7fff_fff1, nlink: 1, sizeBytes: Buffer.byteLength(await options.statsText()) }, undefined, false);
    const inode = await ns.resolve(t.path, t.atVersion);
    if (t.atVersion !== undefined) return toStat({ ...inode, mode: inode.mode & ~0o222 });
    return liveStat(inode);
  };

  const fileHandle = (fd: number): FileHandle => {
    const handle = handles.get(fd);
    if (!handle || handle.kind !== 'file') throw new StrataError('EBADF', `no open file with handle ${fd}`);
    return handle;
  };

  const openFile = async (path: string, flags: number): Promise<number> => {
    const t = await target(path);
    if (t.kind === 'stats') {
      const text = Buffer.from(await options.statsText());
      const readInto = async (out: Buffer, offset: number, length: number) => text.copy(out, 0, Math.min(offset, text.length), Math.min(offset + length, text.length));
      const body = { readInto } as unknown as FileBody;
      return handles.add({ kind: 'file', ino: 0, flags, body, snapshot: true });
    }
    if (t.kind === 'snapshots-root') throw new StrataError('EISDIR', `${path} is a directory`);
    const wantsWrite = (flags & O_ACCMODE) !== O_RDONLY;
    if (wantsWrite && (options.readOnly || t.atVersion !== undefined)) throw ReadOnly(`${path} is read-only`);
    const inode = await ns.resolve(t.path, t.atVersion);
    if ((inode.mode & S_IFMT) === S_IFDIR) throw new StrataError('EISDIR', `${path} is a directory`);
    if (t.atVersion !== undefined) {
      const body = await FileBody.load(volume.bodyContext, inode, t.atVersion);
      return handles.add({ kind: 'file', ino: inode.ino, flags, body, snapshot: true });
    }
    const body = await volume.files.acquire(inode.ino);
    return handles.add({ kind: 'file', ino: inode.ino, flags, body, snapshot: false });
  };

  return {
    handles,

    init(cb: (err: number) => void) {
      cb(0);
    },

    statfs(_path: string, cb: Reply) {
      answer('statfs', '/', cb, async () => {
        const usage = await ns.usage();
        const blockBytes = 4096;
        const totalBlocks = 0xffff_ffff;
        const usedBlocks = Math.min(totalBlocks, Math.ceil(usage.fileBytes / blockBytes));
        const totalFiles = 0xffff_ffff;
        return [{
          bsize: blockBytes, frsize: blockBytes, blocks: totalBlocks, bfree: totalBlocks - usedBlocks, bavail: totalBlocks - usedBlocks,
          files: totalFiles, ffree: totalFiles - usage.inodes, favail: totalFiles - usage.inodes, fsid: 0, flag: 0, namemax: 255,
        }];
      });
    },

    getattr(path: string, cb: Reply) {
      const startedMs = performance.now();
      const cached = cachedStatOf(path);
      if (cached === undefined) return answer('getattr', path, cb, async () => [await statOf(path)], startedMs);
      recordFuseOp('getattr', startedMs, cached ? 0 : ERRNO.ENOENT);
      if (cached) cb(0, cached);
      else cb(ERRNO.ENOENT);
    },

    // Called (patched fuse-native) with the open handle: fstat on a live file answers from its inode
    // even after its name is gone (path null).
    fgetattr(path: string | null, fd: number, cb: Reply) {
      answer('fgetattr', path, cb, async () => {
        const handle = handles.get(fd);
        if (handle?.kind === 'file' && !handle.snapshot) return [await liveStat(await ns.getattr(handle.ino))];
        return [await statOf(path)];
      });
    },

    access(path: string, _mode: number, cb: Reply) {
      answer('access', path, cb, async () => {
        await statOf(path);
      });
    },

    opendir(path: string, _flags: number, cb: Reply) {
      answer('opendir', path, cb, async () => {
        const t = await target(path);
        if (t.kind === 'stats') throw new StrataError('ENOTDIR', `${path} is not a directory`);
        if (t.kind === 'snapshots-root') return [handles.add({ kind: 'dir', ino: 0 })];
        const inode = await ns.resolve(t.path, t.atVersion);
        if ((inode.mode & S_IFMT) !== S_IFDIR) throw new StrataError('ENOTDIR', `${path} is not a directory`);
        return [handles.add({ kind: 'dir', ino: inode.ino })];
      });
    },

    releasedir(_path: string | null, fd: number, cb: Reply) {
      handles.remove(fd);
      cb(0);
    },

    readdir(path: string | null, cb: Reply) {
      answer('readdir', path, cb, async () => {
        const t = await target(path);
        if (t.kind === 'snapshots-root') {
          const pins = await listPins(volume);
          return [['.', '..', ...pins.map((pin) => pin.name)]];
        }
        if (t.kind === 'stats') throw new StrataError('ENOTDIR', `${path} is not a directory`);
        const dir = await ns.resolve(t.path, t.atVersion);
        const names = ['.', '..'];
        let after: string | undefined;
        for (;;) {
          const page = await ns.readdir(dir.ino, { after, limit: 1024, atVersion: t.atVersion });
          for (const entry of page) names.push(entry.name);
          if (page.length < 1024) break;
          after = page[page.length - 1]!.name;
        }
        return [names];
      });
    },

    mkdir(path: string, mode: number, cb: Reply) {
      const caller = options.callerOf();
      answer('mkdir', path, cb, async () => {
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.mkdir(parent.ino, name, mode, caller);
      });
    },

    rmdir(path: string, cb: Reply) {
      answer('rmdir', path, cb, async () => {
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.rmdir(parent.ino, name);
      });
    },

    create(path: string, mode: number, cb: Reply) {
      const caller = options.callerOf();
      answer('create', path, cb, async () => {
        const livePath = await writable(path);
        const { parent, name } = await ns.resolveParent(livePath);
        // Its record rides on the next commit: most often the publish of its first flush.
        const inode = await ns.create(parent.ino, name, mode, caller, { commitSoon: true });
        const body = await volume.files.acquire(inode.ino, inode);
        // With its stat, libfuse's fgetattr right after the create needs no trip here (patched addon).
        return [handles.add({ kind: 'file', ino: inode.ino, flags: fsConstants.O_RDWR, body, snapshot: false }), toStat(inode, body)];
      });
    },

    mknod(path: string, mode: number, dev: number, cb: Reply) {
      const caller = options.callerOf();
      answer('mknod', path, cb, async () => {
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.mknod(parent.ino, name, mode, dev, caller);
      });
    },

    open(path: string, flags: number, cb: Reply) {
      answer('open', path, cb, async () => [await openFile(path, flags)]);
    },

    read(path: string | null, fd: number, buffer: Buffer, length: number, position: number, cb: (result: number) => void) {
      const startedMs = performance.now();
      const handle = handles.get(fd);
      if (!handle || handle.kind !== 'file') return cb(ERRNO.EBADF);
      handle.body.readInto(buffer, position, Math.min(length, buffer.length)).then(
        (copied) => {
          recordFuseOp('read', startedMs, 0);
          recordFuseBytes('read', copied);
          cb(copied);
        },
        (err: unknown) => {
          const errno = errnoOf(err);
          recordFuseOp('read', startedMs, errno);
          options.log('read failed', { ...failure('read', path ?? '<unlinked>', err), ino: handle.ino, position });
          cb(errno);
        },
      );
    },

    write(path: string | null, fd: number, buffer: Buffer, length: number, position: number, cb: (result: number) => void) {
      const startedMs = performance.now();
      const handle = handles.get(fd);
      if (!handle || handle.kind !== 'file') return cb(ERRNO.EBADF);
      if (handle.snapshot) return cb(ERRNO.EROFS);
      const body = handle.body;
      // The kernel's buffer is reused after we answer: write() copies it into block buffers now.
      body.write(handle.flags & O_APPEND ? body.sizeBytes : position, buffer.subarray(0, length));
      const written = () => {
        recordFuseOp('write', startedMs, 0);
        recordFuseBytes('write', length);
        cb(length);
      };
      if (!body.mustDrain) return written();
      body.drain().then(
        written,
        (err: unknown) => {
          const errno = errnoOf(err);
          recordFuseOp('write', startedMs, errno);
          if (errno === -constants.errno.EIO) options.log('write failed', { ...failure('write', path ?? '<unlinked>', err), ino: handle.ino, position });
          cb(errno);
        },
      );
    },

    flush(path: string | null, fd: number, cb: Reply) {
      answer('flush', path, cb, async () => {
        const handle = fileHandle(fd);
        if (handle.snapshot) return;
        await handle.body.publish();
        // A file created and closed unwritten has no publish to carry its creation: close makes it.
        await ns.settle(handle.ino);
      });
    },

    // fuse-native passes (path, datasync, fd): the handle comes after the datasync flag.
    fsync(path: string | null, _datasync: number, fd: number, cb: Reply) {
      answer('fsync', path, cb, async () => {
        const handle = fileHandle(fd);
        if (!handle.snapshot) await handle.body.publish({ sync: true });
      });
    },

    fsyncdir(path: string | null, _datasync: number, _fd: number, cb: Reply) {
      answer('fsyncdir', path, cb, async () => {
        if (!options.readOnly && options.snapshotVersion === undefined) await ns.kv.settle({ sync: true });
      });
    },

    release(path: string | null, fd: number, cb: Reply) {
      answer('release', path, cb, async () => {
        const handle = handles.remove(fd);
        if (handle?.kind === 'file' && !handle.snapshot) await volume.files.release(handle.ino);
      });
    },

    truncate(path: string | null, size: number, cb: Reply) {
      answer('truncate', path, cb, async () => {
        const inode = await ns.resolve(await writable(path));
        await truncateInode(inode, size);
      });
    },

    ftruncate(path: string | null, fd: number, size: number, cb: Reply) {
      answer('ftruncate', path, cb, async () => {
        const handle = fileHandle(fd);
        if (handle.snapshot) throw ReadOnly(`${path ?? '<unlinked>'} is read-only`);
        await handle.body.truncate(size);
        await handle.body.publish();
      });
    },

    readlink(path: string, cb: Reply) {
      answer('readlink', path, cb, async () => {
        const found = await inodeAt(path);
        if (!found) throw NotFound(`${path} is virtual`);
        return [await ns.readlink(found.inode.ino, found.atVersion)];
      });
    },

    symlink(linkTarget: string, path: string, cb: Reply) {
      const caller = options.callerOf();
      answer('symlink', path, cb, async () => {
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.symlink(parent.ino, name, linkTarget, caller);
      });
    },

    link(existing: string, path: string, cb: Reply) {
      answer('link', path, cb, async () => {
        const source = await ns.resolve(await writable(existing));
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.link(source.ino, parent.ino, name);
        // The source's kernel inode still holds its count and ctime from before the link.
        options.forgetCachedAttrs(source.ino);
      });
    },

    unlink(path: string, cb: Reply) {
      answer('unlink', path, cb, async () => {
        const { parent, name } = await ns.resolveParent(await writable(path));
        await ns.unlink(parent.ino, name);
      });
    },

    rename(from: string, to: string, cb: Reply) {
      answer('rename', from, cb, async () => {
        const source = await ns.resolveParent(await writable(from));
        const dest = await ns.resolveParent(await writable(to));
        await ns.rename(source.parent.ino, source.name, dest.parent.ino, dest.name);
      });
    },

    chmod(path: string | null, mode: number, cb: Reply) {
      answer('chmod', path, cb, async () => changeAttrs(await ns.resolve(await writable(path)), { mode }));
    },

    chown(path: string | null, uid: number, gid: number, cb: Reply) {
      answer('chown', path, cb, async () =>
        changeAttrs(await ns.resolve(await writable(path)), { uid: uid === 0xffff_ffff ? -1 : uid, gid: gid === 0xffff_ffff ? -1 : gid }),
      );
    },

    // atime/mtime undefined: that time is left as is (UTIME_OMIT: touch -m, touch -a, tar).
    utimens(path: string | null, atime: number | undefined, mtime: number | undefined, cb: Reply) {
      answer('utimens', path, cb, async () => {
        const inode = await ns.resolve(await writable(path));
        const open = volume.files.peek(inode.ino);
        // A pending write would stamp its own mtime at publish: it stamps this one now.
        if (open && mtime !== undefined) (await open).setPendingMtime(mtime);
        return changeAttrs(inode, {
          ...(atime !== undefined ? { atimeMs: atime } : {}),
          ...(mtime !== undefined ? { mtimeMs: mtime } : {}),
        });
      });
    },

    setxattr(path: string, name: string, value: Buffer, _position: number, flags: number, cb: Reply) {
      answer('setxattr', path, cb, async () => {
        // ACLs are not supported: saying so makes cp -a and rsync -A fall back to chmod, where a
        // stored-but-ignored ACL would silently lose the mode.
        if (name.startsWith('system.posix_acl_')) throw new StrataError('ENOTSUP', `${path}: POSIX ACLs are not supported`);
        const inode = await ns.resolve(await writable(path));
        await ns.setxattr(inode.ino, name, Buffer.from(value), flags & (XATTR_CREATE | 2));
      });
    },

    // The virtual entries have no extended attributes (ls -l asks every entry for some).
    getxattr(path: string, name: string, _position: number, cb: Reply) {
      answer('getxattr', path, cb, async () => {
        const found = await inodeAt(path);
        if (!found) throw NoAttribute(`${path} has no extended attribute ${name}`);
        return [await ns.getxattr(found.inode.ino, name, found.atVersion)];
      });
    },

    listxattr(path: string, cb: Reply) {
      answer('listxattr', path, cb, async () => {
        const found = await inodeAt(path);
        return [found ? await ns.listxattr(found.inode.ino, found.atVersion) : []];
      });
    },

    removexattr(path: string, name: string, cb: Reply) {
      answer('removexattr', path, cb, async () => {
        const inode = await ns.resolve(await writable(path));
        await ns.removexattr(inode.ino, name);
      });
    },
  };

  async function truncateInode(inode: Inode, size: number): Promise<void> {
    if ((inode.mode & S_IFMT) === S_IFDIR) throw new StrataError('EISDIR', `inode ${inode.ino} is a directory`);
    if ((inode.mode & S_IFMT) !== S_IFREG) throw new StrataError('EINVAL', `inode ${inode.ino} is not a regular file`);
    const body = await volume.files.acquire(inode.ino);
    try {
      await body.truncate(size);
      await body.publish();
    } finally {
      await volume.files.release(inode.ino);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The fields of a failure's log line: the operation, its path, the object key involved, the cause. */
function failure(op: string, path: string, err: unknown): { op: string; path: string; key: string | null; cause: string } {
  return { op, path, key: objectKeyOf(err) ?? null, cause: describe(err) };
}

