// The addon scripts/block-io builds, as promises: block digests, whole-object reads of the file
// backend, and syncs, each one job in libuv's thread pool (digestHere excepted). Loaded once per
// process; without it no block can be written or read.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IOError } from './errors.js';

/** Where scripts/block-io/build.mjs puts the addon, from dist/src. */
export const BLOCK_IO_ADDON = fileURLToPath(new URL('../../scripts/block-io/build/Release/block_io.node', import.meta.url));

type ErrorFirst<T extends unknown[]> = (err: NodeJS.ErrnoException | null, ...results: T) => void;

interface BlockIoAddon {
  digest(bytes: Uint8Array): string;
  digestAsync(bytes: Uint8Array, callback: ErrorFirst<[string]>): void;
  readObject(path: string, into: Uint8Array, callback: ErrorFirst<[bytesRead: number, size: number, digest: string | null]>): void;
  syncPaths(files: string[], folders: string[], callback: ErrorFirst<[]>): void;
  syncFileSystem(path: string, callback: ErrorFirst<[]>): void;
}

let addon: BlockIoAddon | undefined;

/** The addon; an EIO saying how to build it when it does not load. */
export function blockIo(): BlockIoAddon {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)(BLOCK_IO_ADDON) as BlockIoAddon;
    return addon;
  } catch (err) {
    throw IOError(`the block digest addon ${BLOCK_IO_ADDON} does not load (${(err as Error).message}); run node scripts/block-io/build.mjs`, err);
  }
}

/** A pool job of the addon's as a promise of its results (the first one alone, or all of them). */
function job<T extends unknown[]>(start: (callback: ErrorFirst<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, ...results) => (err ? reject(err) : resolve(results))));
}

/** `xxh64:<hex>` of `bytes`, on this thread. */
export function digestHere(bytes: Uint8Array): string {
  return blockIo().digest(bytes);
}

/** `xxh64:<hex>` of `bytes`, in the pool; `bytes` must not change until it resolves. */
export async function digestInPool(bytes: Uint8Array): Promise<string> {
  const [digest] = await job<[string]>((callback) => blockIo().digestAsync(bytes, callback));
  return digest;
}

export interface ObjectRead {
  bytesRead: number;
  /** -1 when the path is not a regular file */
  sizeBytes: number;
  /** null when the file is larger than the buffer: nothing was read then */
  digestUri: string | null;
}

/** Opens, reads into `into`, digests and closes the file at `path`, in one job. */
export async function readObject(path: string, into: Uint8Array): Promise<ObjectRead> {
  const [bytesRead, sizeBytes, digestUri] = await job<[number, number, string | null]>((callback) => blockIo().readObject(path, into, callback));
  return { bytesRead, sizeBytes, digestUri };
}

/** fdatasync of each file, then fsync of each folder, in one job; an error's `path` names what failed. */
export async function syncPaths(files: string[], folders: string[]): Promise<void> {
  await job<[]>((callback) => blockIo().syncPaths(files, folders, callback));
}

/** syncfs(2) of the file system `path` is on. */
export async function syncFileSystem(path: string): Promise<void> {
  await job<[]>((callback) => blockIo().syncFileSystem(path, callback));
}
