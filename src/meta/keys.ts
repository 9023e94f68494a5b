// Every metadata key Strata writes, defined once. Keys are bytes: a one-letter space tag, then
// big-endian integers and NUL-terminated names, so each key space sorts in a useful order (a
// directory's entries by name, a file's manifests by chunk) and no key is a prefix of another,
// which lets the versioned store append a version to any key without ambiguity.
//
// Logical key spaces (examples as tag + fields):
//   V                          volume record               "V"
//   C <name> 0                 counter or volume-wide flag "C" "version" 00, "C" "usage" 00, "C" "capabilities" 00, "C" "selinux-labels" 00
//   I <ino:u64>                inode            versioned  "I" 00..01
//   D <parent:u64> <name> 0    dentry           versioned  "D" 00..01 "notes.txt" 00
//   B <ino:u64>                body descriptor  versioned  "B" 00..2a
//   M <ino:u64> <chunk:u32>    chunk manifest   versioned  "M" 00..2a 00000003
//   X <ino:u64> <name> 0       extended attr    versioned  "X" 00..2a "user.tag" 00
//   Q <objectKey> 0            GC queue record             "Q" "blocks/default/42/7/0/0" 00
//   S <objectKey> 0            staged object               "S" "blocks/default/42/9/0/1" 00
//   W <objectKey> 0            write-back staged bytes     "W" "blocks/default/42/9/0/0" 00
//   P <name> 0                 snapshot pin                "P" "before-upgrade" 00
//   O <ino:u64>                orphan (unlinked, open)     "O" 00..2a
// The versioned store adds two internal spaces (see versioned.ts):
//   h <logical key> <wrote:u64>        a replaced record, kept as history
//   e <ended:u64> <logical key>        index of history by the version that replaced it

export type KeySpace = 'V' | 'C' | 'I' | 'D' | 'B' | 'M' | 'X' | 'Q' | 'S' | 'W' | 'P' | 'O';

/** Spaces whose records are part of the namespace as of a version, and so keep history. */
const versionedSpaces = new Set<number>(['I', 'D', 'B', 'M', 'X'].map((tag) => tag.charCodeAt(0)));

export function isVersionedKey(key: Buffer): boolean {
  return versionedSpaces.has(key[0]!);
}

export const HISTORY_TAG = 'h';
export const HISTORY_INDEX_TAG = 'e';

function tag(space: string): Buffer {
  return Buffer.from(space, 'latin1');
}

export function u64(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

export function readU64(buf: Buffer, offset: number): number {
  return Number(buf.readBigUInt64BE(offset));
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value);
  return out;
}

/** A name as stored in a key; names never contain NUL (callers validate), so NUL ends it. */
function cstring(name: string): Buffer {
  return Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0])]);
}

function readCString(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 ? buf.length : end);
}

export const keys = {
  volume: (): Buffer => tag('V'),
  counter: (name: 'version' | 'inode' | 'generation' | 'usage' | 'capabilities' | 'selinux-labels'): Buffer => Buffer.concat([tag('C'), cstring(name)]),
  inode: (ino: number): Buffer => Buffer.concat([tag('I'), u64(ino)]),
  dentry: (parent: number, name: string): Buffer => Buffer.concat([tag('D'), u64(parent), cstring(name)]),
  /** All dentries of a directory: [start, end). `after` resumes a paged listing past that name. */
  dentryRange: (parent: number, after?: string): [Buffer, Buffer] => [
    after === undefined
      ? Buffer.concat([tag('D'), u64(parent)])
      : Buffer.concat([tag('D'), u64(parent), cstring(after), Buffer.from([0])]),
    Buffer.concat([tag('D'), u64(parent + 1)]),
  ],
  body: (ino: number): Buffer => Buffer.concat([tag('B'), u64(ino)]),
  manifest: (ino: number, chunkIndex: number): Buffer => Buffer.concat([tag('M'), u64(ino), u32(chunkIndex)]),
  manifestRange: (ino: number): [Buffer, Buffer] => [
    Buffer.concat([tag('M'), u64(ino)]),
    Buffer.concat([tag('M'), u64(ino + 1)]),
  ],
  xattr: (ino: number, name: string): Buffer => Buffer.concat([tag('X'), u64(ino), cstring(name)]),
  xattrRange: (ino: number): [Buffer, Buffer] => [
    Buffer.concat([tag('X'), u64(ino)]),
    Buffer.concat([tag('X'), u64(ino + 1)]),
  ],
  gcQueue: (objectKey: string): Buffer => Buffer.concat([tag('Q'), cstring(objectKey)]),
  staged: (objectKey: string): Buffer => Buffer.concat([tag('S'), cstring(objectKey)]),
  /** An object's bytes, staged in the metadata store by write-back mode. */
  stagedBytes: (objectKey: string): Buffer => Buffer.concat([tag('W'), cstring(objectKey)]),
  /** Every W record whose object key starts with `prefix` (UTF-8 never holds the byte 0xff). */
  stagedBytesRange: (prefix: string): [Buffer, Buffer] => [
    Buffer.concat([tag('W'), Buffer.from(prefix, 'utf8')]),
    Buffer.concat([tag('W'), Buffer.from(prefix, 'utf8'), Buffer.from([0xff])]),
  ],
  pin: (name: string): Buffer => Buffer.concat([tag('P'), cstring(name)]),
  orphan: (ino: number): Buffer => Buffer.concat([tag('O'), u64(ino)]),
  /** Every key of one space, for whole-space scans (GC queue, staged objects, pins, orphans, inodes). */
  spaceRange: (space: KeySpace): [Buffer, Buffer] => [tag(space), tag(String.fromCharCode(space.charCodeAt(0) + 1))],
};

export const parseKey = {
  dentryName: (key: Buffer): string => readCString(key, 9),
  manifestChunk: (key: Buffer): number => key.readUInt32BE(9),
  xattrName: (key: Buffer): string => readCString(key, 9),
  /** The object key of a Q, S or W record. */
  objectKey: (key: Buffer): string => readCString(key, 1),
  pinName: (key: Buffer): string => readCString(key, 1),
  /** The inode number of an I, B or O key. */
  ino: (key: Buffer): number => readU64(key, 1),
};
