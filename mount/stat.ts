// An inode as the stat structure fuse-native hands the kernel. Times are milliseconds; an open file
// reports its write session's size and times, so the writer's own stat is current.

import type { FileBody } from '../src/io/file-body.js';
import { S_IFLNK, S_IFMT, type Inode } from '../src/meta/records.js';

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
}

const PREFERRED_IO_BYTES = 4 * 1024 * 1024;

export function toStat(inode: Inode, open?: FileBody): FuseStat {
  const size = open ? open.sizeBytes : inode.sizeBytes;
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
    ctime: open?.pendingTimes?.ctimeMs ?? inode.ctimeMs,
  };
}
