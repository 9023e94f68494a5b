// An inode as the stat structure fuse-native hands the kernel. Times are milliseconds; an open file
// reports its write session's size and times, so the writer's own stat is current.
//
// The kernel may cache the attributes of a directory, or of a file with one name, for
// ATTR_CACHE_SECONDS: it drops them itself on every change made through that kernel inode or in a
// directory (write, setattr, xattrs, an entry made, removed or renamed). Under libfuse's path API
// each name of a file is its own kernel inode, so a change through one name of a file with several
// would leave the others' cached attributes stale: those are asked afresh every time. A link gives
// a file its second name, and the link handler makes the kernel drop the source's cached attributes
// (patched fuse-native: forgetCachedAttrs). Each name also has its own page cache: the kernel drops
// a name's pages when fresh attributes show another size or mtime (FUSE_AUTO_INVAL_DATA, patched
// fuse-native v8), which for a file with several names is on every read.

import type { FileBody } from '../src/io/file-body.js';
import { S_IFDIR, S_IFLNK, S_IFMT, type Inode } from '../src/meta/records.js';

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
  /** seconds the kernel may cache these attributes (patched fuse-native; 0: ask every time) */
  attrTimeout: number;
}

export const ATTR_CACHE_SECONDS = 1;

const PREFERRED_IO_BYTES = 4 * 1024 * 1024;

/** `cacheable`: false for virtual entries, whose attributes change with no operation behind it. */
export function toStat(inode: Inode, open?: FileBody, cacheable = true): FuseStat {
  const size = open ? open.sizeBytes : inode.sizeBytes;
  const oneName = (inode.mode & S_IFMT) === S_IFDIR || inode.nlink === 1;
  return {
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    size,
    nlink: inode.nlink,
    ino: inode.ino,
    rdev: inode.rdev ?? 0,
    blksize: PREFERRED_IO_BYTES,
    // A symlink's target lives in its inode record, no data blocks (as ext4's fast symlinks).
    blocks: (inode.mode & S_IFMT) === S_IFLNK ? 0 : Math.ceil(size / 4096) * 8,
    atime: inode.atimeMs,
    mtime: open?.pendingTimes?.mtimeMs ?? inode.mtimeMs,
    ctime: Math.max(open?.pendingTimes?.ctimeMs ?? 0, inode.ctimeMs),
    attrTimeout: cacheable && oneName ? ATTR_CACHE_SECONDS : 0,
  };
}
