// Digests: `xxh64:<hex>` per block object (fast, checked on every whole-object read), `sha256:<hex>`
// for an SDK upload's content, `manifest-sha256:<hex>` for a FUSE write session's manifests.
//
// Block digests come from the addon scripts/block-io builds (src/block-io.ts): the same XXH64
// (seed 0) as before, in C, and in libuv's thread pool for large inputs, so that hashing a 4 MiB
// block (about 0.5 ms) does not hold the main thread, which answers every FUSE request.

import { createHash } from 'node:crypto';
import { digestHere, digestInPool } from '../block-io.js';

/**
 * Inputs smaller than this are digested on the calling thread. Queueing a job for the pool cost the
 * main thread about 40 us a call while small files were written (.probe/perffiles.sh), as long
 * as digesting 256 KiB here.
 */
const POOL_DIGEST_MIN_BYTES = 256 * 1024;

/** The block digest of `bytes`, a large input's computed in the thread pool; `bytes` must not change until it resolves. */
export function blockDigest(bytes: Uint8Array): Promise<string> {
  return bytes.byteLength < POOL_DIGEST_MIN_BYTES ? Promise.resolve(digestHere(bytes)) : digestInPool(bytes);
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
