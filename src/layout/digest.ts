// Digests: `xxh64:<hex>` per block object (fast, checked on every whole-object read), `sha256:<hex>`
// for an SDK upload's content, `manifest-sha256:<hex>` for a FUSE write session's manifests.
//
// Block digests come from the addon scripts/block-io builds: the same XXH64 (seed 0) as before, in
// C, and in libuv's thread pool for large inputs, so that hashing a 4 MiB block (about 0.5 ms) does
// not hold the main thread, which answers every FUSE request.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IOError } from '../errors.js';

/** Where scripts/block-io/build.mjs puts the addon, from dist/src/layout. */
export const BLOCK_IO_ADDON = fileURLToPath(new URL('../../../scripts/block-io/build/Release/block_io.node', import.meta.url));

type ErrorFirst<T extends unknown[]> = (err: NodeJS.ErrnoException | null, ...results: T) => void;

/**
 * Inputs smaller than this are digested on the calling thread. Queueing a job for the pool cost the
 * main thread about 40 us a call while small files were written (.probe/perffiles.sh), as long
 * as digesting 256 KiB here.
 */
const POOL_DIGEST_MIN_BYTES = 256 * 1024;

interface BlockIoAddon {
  digest(bytes: Uint8Array): string;
  digestAsync(bytes: Uint8Array, callback: ErrorFirst<[string]>): void;
  /** `size` is -1 when `path` is not a regular file; nothing is read (digest null) when it is larger than `into`. */
  readObject(path: string, into: Uint8Array, callback: ErrorFirst<[bytesRead: number, size: number, digest: string | null]>): void;
  /** fdatasync of each file, then fsync of each folder, in one job; an error's `path` names what failed. */
  syncPaths(files: string[], folders: string[], callback: ErrorFirst<[]>): void;
  /** syncfs(2) of the file system `path` is on. */
  syncFileSystem(path: string, callback: ErrorFirst<[]>): void;
}

let addon: BlockIoAddon | undefined;

/** The addon, loaded once per process; an EIO saying how to build it when it does not load. */
export function blockIo(): BlockIoAddon {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)(BLOCK_IO_ADDON) as BlockIoAddon;
    return addon;
  } catch (err) {
    throw IOError(`the block digest addon ${BLOCK_IO_ADDON} does not load (${(err as Error).message}); run node scripts/block-io/build.mjs`, err);
  }
}

/** The block digest of `bytes`, a large input's computed in the thread pool; `bytes` must not change until it resolves. */
export function blockDigest(bytes: Uint8Array): Promise<string> {
  const addon = blockIo();
  if (bytes.byteLength < POOL_DIGEST_MIN_BYTES) return Promise.resolve(addon.digest(bytes));
  return new Promise((resolve, reject) => addon.digestAsync(bytes, (err, digest) => (err ? reject(err) : resolve(digest))));
}

export function sha256Digest(hash: ReturnType<typeof createHash>): string {
  return `sha256:${hash.digest('hex')}`;
}

/** A write session's body digest: its changed manifests, chained onto the previous body digest. */
export function manifestDigest(previousDigestUri: string, canonicalManifests: string[]): string {
  const hash = createHash('sha256').update(previousDigestUri);
  for (const manifest of canonicalManifests) hash.update('\n').update(manifest);
  return `manifest-sha256:${hash.digest('hex')}`;
}
