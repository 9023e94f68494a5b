// One metadata mutation being assembled: the records it writes and deletes, and the cache updates
// that become true only once its commit succeeds.

import type { Mutation } from './kv.js';
import { keys } from './keys.js';
import { encode, type Dentry, type Inode } from './records.js';

export class Txn {
  readonly mutations: Mutation[] = [];
  readonly inodes = new Map<number, Inode | null>();
  readonly dentries = new Map<string, { parent: number; name: string; dentry: Dentry | null }>();
  readonly effects: Array<() => void> = [];

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

  putInode(inode: Inode): void {
    this.put(keys.inode(inode.ino), inode);
    this.inodes.set(inode.ino, inode);
  }

  delInode(ino: number): void {
    this.del(keys.inode(ino));
    this.inodes.set(ino, null);
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
