// One metadata mutation being assembled: the records it writes and deletes, and the cache updates
// that become true only once its commit succeeds.

import type { Mutation } from './kv.js';
import { keys } from './keys.js';
import { encode, type Dentry, type Inode } from './records.js';
import { addUsage, NO_USAGE, usageOf, type UsageCounts } from './usage.js';

export class Txn {
  readonly mutations: Mutation[] = [];
  readonly inodes = new Map<number, Inode | null>();
  readonly dentries = new Map<string, { parent: number; name: string; dentry: Dentry | null }>();
  readonly effects: Array<() => void> = [];
  /** each inode this txn changes, as it was before: null for one it creates */
  private readonly inodesBefore = new Map<number, Inode | null>();

  /** Runs `effect` once the commit has succeeded (in-memory state that mirrors the records). */
  afterCommit(effect: () => void): void {
    this.effects.push(effect);
  }

  put(key: Buffer, record: object): void {
    this.mutations.push({ type: 'put', key, value: encode(record) });
  }

  del(key: Buffer): void {
    this.mutations.push({ type: 'del', key });
  }

  /** `previous`: the inode as the caller read it, null when this creates it (for usageChange). */
  putInode(inode: Inode, previous: Inode | null): void {
    this.put(keys.inode(inode.ino), inode);
    this.inodes.set(inode.ino, inode);
    if (!this.inodesBefore.has(inode.ino)) this.inodesBefore.set(inode.ino, previous);
  }

  delInode(previous: Inode): void {
    this.del(keys.inode(previous.ino));
    this.inodes.set(previous.ino, null);
    if (!this.inodesBefore.has(previous.ino)) this.inodesBefore.set(previous.ino, previous);
  }

  /** How the volume's usage counters change if this txn commits. */
  usageChange(): UsageCounts {
    let change = NO_USAGE;
    for (const [ino, before] of this.inodesBefore) change = addUsage(addUsage(change, usageOf(this.inodes.get(ino) ?? null)), usageOf(before), -1);
    return change;
  }

  putDentry(parent: number, name: string, dentry: Dentry): void {
    this.put(keys.dentry(parent, name), dentry);
    this.dentries.set(dentryCacheKey(parent, name), { parent, name, dentry });
  }

  delDentry(parent: number, name: string): void {
    this.del(keys.dentry(parent, name));
    this.dentries.set(dentryCacheKey(parent, name), { parent, name, dentry: null });
  }
}

export function dentryCacheKey(parent: number, name: string): string {
  return `${parent}/${name}`;
}

export function parentOfDentryCacheKey(cacheKey: string): number {
  return Number(cacheKey.slice(0, cacheKey.indexOf('/')));
}
