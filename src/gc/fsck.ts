// fsck: checks that every block a live manifest reaches exists with its size and checksum, that no
// queued object is still reachable, and that every object in the store is reachable, queued or
// staged. Anything else is a leak; repair queues leaks for GC.

import { stackedEntries, type BlockEntry, type ChunkManifest } from '../layout/manifest.js';
import { parseBlockObjectKey, volumeObjectPrefix } from '../layout/object-keys.js';
import { queueObjects } from '../meta/body-records.js';
import { keys, parseKey } from '../meta/keys.js';
import { decode } from '../meta/records.js';
import { Txn } from '../meta/txn.js';
import { getDigested } from '../object/store.js';
import type { Volume } from '../volume.js';

export interface FsckProblem {
  /** corrupt-manifest: a chunk manifest record that does not decode; objectKey is then its inode's object prefix */
  kind: 'missing' | 'short' | 'checksum' | 'queued-but-reachable' | 'leaked' | 'corrupt-manifest';
  objectKey: string;
  detail: string;
}

export interface FsckReport {
  clean: boolean;
  reachableObjects: number;
  queuedObjects: number;
  stagedObjects: number;
  storedObjects: number;
  problems: FsckProblem[];
  repaired: number;
}

/**
 * Objects read and checked at once. Serially, each object waited for the one before: over S3 a
 * round trip each, and on the file backend one thread-pool job at a time.
 */
const CHECKERS = 8;

async function keySet(volume: Volume, space: 'Q' | 'S'): Promise<Set<string>> {
  const [start, end] = keys.spaceRange(space);
  return new Set((await volume.kv.scan(start, end)).map((entry) => parseKey.objectKey(entry.key)));
}

export async function fsck(volume: Volume, options: { repair?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<FsckReport> {
  const [start, end] = keys.spaceRange('M');
  const reachable = new Map<string, BlockEntry>();
  const problems: FsckProblem[] = [];
  // A manifest that does not decode is reported, and its inode's objects are kept out of the leak
  // list: they may be all that is left to recover the file from, so --repair must not queue them.
  const unreadable = new Set<number>();
  for (const entry of await volume.kv.scan(start, end)) {
    let blocks: BlockEntry[];
    try {
      blocks = stackedEntries(decode<ChunkManifest>(entry.value));
      for (const block of blocks) assertBlockEntry(block);
    } catch (err) {
      const ino = parseKey.ino(entry.key);
      unreadable.add(ino);
      problems.push({
        kind: 'corrupt-manifest',
        objectKey: `${volumeObjectPrefix(volume.name)}${ino}/`,
        detail: `the manifest of inode ${ino}, chunk ${parseKey.manifestChunk(entry.key)}, cannot be read (${err instanceof Error ? err.message : String(err)}); its objects are kept`,
      });
      continue;
    }
    for (const block of blocks) reachable.set(block.objectKey, block);
  }
  const queued = await keySet(volume, 'Q');
  const staged = await keySet(volume, 'S');

  const stored = new Map<string, number>();
  for await (const info of volume.store.list(volumeObjectPrefix(volume.name))) stored.set(info.key, info.sizeBytes);

  const toCheck = [...reachable];
  /** Problems with the place of their object in manifest order: checks finish in any order. */
  const found: Array<{ at: number; problem: FsckProblem }> = [];
  let next = 0;
  let checked = 0;
  // Each checker reads into a buffer of its own, sized from the listing: one read per object.
  const checker = async () => {
    let buffer = Buffer.allocUnsafe(0);
    while (next < toCheck.length) {
      const at = next++;
      const [objectKey, block] = toCheck[at]!;
      const report = (problem: FsckProblem) => found.push({ at, problem });
      const sizeBytes = stored.get(objectKey);
      if (sizeBytes === undefined) report({ kind: 'missing', objectKey, detail: 'a manifest references it but the store does not have it' });
      else if (sizeBytes < block.objectOffset + block.len) report({ kind: 'short', objectKey, detail: `${sizeBytes} bytes, the manifest needs ${block.objectOffset + block.len}` });
      else {
        if (buffer.length < sizeBytes) buffer = Buffer.allocUnsafe(sizeBytes);
        let digest: string;
        try {
          ({ digestUri: digest } = await getDigested(volume.store, objectKey, buffer));
        } catch (err) {
          // fsck fails with the first read that does: the other checkers take nothing more.
          next = toCheck.length;
          throw err;
        }
        if (digest !== block.digestUri) report({ kind: 'checksum', objectKey, detail: `content is ${digest}, the manifest says ${block.digestUri}` });
      }
      if (queued.has(objectKey)) report({ kind: 'queued-but-reachable', objectKey, detail: 'queued for GC while a live manifest still references it' });
      options.onProgress?.(++checked, reachable.size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECKERS, toCheck.length) }, checker));
  // A stable sort: an object's own problems stay in the order they were found.
  for (const { problem } of found.sort((a, b) => a.at - b.at)) problems.push(problem);

  const ofUnreadable = (key: string) => unreadable.has(parseBlockObjectKey(key)?.ino ?? -1);
  const leaked = [...stored.keys()].filter((key) => !reachable.has(key) && !queued.has(key) && !staged.has(key) && !ofUnreadable(key));
  for (const objectKey of leaked) problems.push({ kind: 'leaked', objectKey, detail: 'in the store but neither reachable, queued nor staged' });
  let repaired = 0;
  if (options.repair && leaked.length > 0) {
    const txn = new Txn();
    queueObjects(txn, leaked, Date.now());
    await volume.kv.commit(txn.mutations, { sync: true });
    repaired = leaked.length;
  }
  return {
    clean: problems.every((problem) => problem.kind === 'leaked' && repaired > 0),
    reachableObjects: reachable.size,
    queuedObjects: queued.size,
    stagedObjects: staged.size,
    storedObjects: stored.size,
    problems,
    repaired,
  };
}

/** Throws unless `block` has the fields a read plan uses, with sane types. */
function assertBlockEntry(block: BlockEntry): void {
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (typeof block?.objectKey !== 'string' || typeof block.digestUri !== 'string' || !whole(block.logicalOffset) || !whole(block.objectOffset) || !whole(block.len)) {
    throw new Error(`a block entry is malformed: ${JSON.stringify(block)?.slice(0, 200)}`);
  }
}
