// The volume's usage counters: inodes, files, directories and the bytes in files. statfs (df) and
// `strata status` read them; each commit that creates, retires or resizes an inode updates them in
// the same batch (Txn.usageChange), so they never drift from the inodes and cost no scan.

import type { MetaKV } from './kv.js';
import { keys } from './keys.js';
import { decode, S_IFDIR, S_IFMT, S_IFREG, type Inode } from './records.js';

export interface UsageCounts {
  inodes: number;
  files: number;
  directories: number;
  /** the sum of regular files' sizes */
  fileBytes: number;
}

export const NO_USAGE: UsageCounts = { inodes: 0, files: 0, directories: 0, fileBytes: 0 };

/** Inodes are counted this many per scan page by countUsage. */
const COUNT_PAGE_INODES = 4096;

/** What one inode adds to the counters; nothing for none. */
export function usageOf(inode: Inode | null): UsageCounts {
  if (!inode) return NO_USAGE;
  const type = inode.mode & S_IFMT;
  return { inodes: 1, files: type === S_IFREG ? 1 : 0, directories: type === S_IFDIR ? 1 : 0, fileBytes: type === S_IFREG ? inode.sizeBytes : 0 };
}

export function addUsage(a: UsageCounts, b: UsageCounts, sign: 1 | -1 = 1): UsageCounts {
  return { inodes: a.inodes + sign * b.inodes, files: a.files + sign * b.files, directories: a.directories + sign * b.directories, fileBytes: a.fileBytes + sign * b.fileBytes };
}

export function isNoChange(change: UsageCounts): boolean {
  return change.inodes === 0 && change.files === 0 && change.directories === 0 && change.fileBytes === 0;
}

/** The stored counters; undefined for a volume made before they existed. */
export async function storedUsage(kv: MetaKV): Promise<UsageCounts | undefined> {
  const stored = await kv.get(keys.counter('usage'));
  return stored && decode<UsageCounts>(stored);
}

/** Counts every inode, a page at a time: for a volume that has no counters yet. */
export async function countUsage(kv: MetaKV): Promise<UsageCounts> {
  const [start, end] = keys.spaceRange('I');
  let counts = NO_USAGE;
  for (let from = start; ; ) {
    const page = await kv.scan(from, end, { limit: COUNT_PAGE_INODES });
    for (const entry of page) counts = addUsage(counts, usageOf(decode<Inode>(entry.value)));
    if (page.length < COUNT_PAGE_INODES) return counts;
    from = Buffer.concat([page[page.length - 1]!.key, Buffer.from([0])]);
  }
}
