// The metadata records and their encoding. Values are JSON: small, readable in a debugger and in
// `strata stat`, and cheap next to a RocksDB write.

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_IXGRP = 0o010;
export const PERMISSION_BITS = 0o7777;

export type FileType = 'file' | 'dir' | 'symlink' | 'fifo';

export const ROOT_INO = 1;

export interface Inode {
  ino: number;
  /** st_mode: type and permission bits */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  sizeBytes: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  /** the generation of the last published body (regular files); 0 before the first publish */
  generation: number;
  /** directories: the directory that holds it (for rename cycle checks and `..`) */
  parent?: number;
  /** symlinks: the target */
  target?: string;
  rdev?: number;
}

export interface Dentry {
  ino: number;
  type: FileType;
}

export interface BodyDescriptor {
  producer: 'fuse' | 'sdk';
  digestUri: string;
  sizeBytes: number;
  contentType: string;
  generation: number;
  manifestId: string;
  chunkBytes: number;
  blockBytes: number;
}

export interface GcQueueRecord {
  queuedAtMs: number;
}

export interface StagedRecord {
  stagedAtMs: number;
}

export interface PinRecord {
  version: number;
  pinnedAtMs: number;
}

export interface VolumeRecord {
  format: 1;
  volume: string;
  createdAtMs: number;
  chunkBytes: number;
  blockBytes: number;
}

export function fileTypeOf(mode: number): FileType {
  switch (mode & S_IFMT) {
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFIFO: return 'fifo';
    default: return 'file';
  }
}

export function encode(record: object): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decode<T>(value: Buffer): T {
  return JSON.parse(value.toString('utf8')) as T;
}
