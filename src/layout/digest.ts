// Digests: `xxh64:<hex>` per block object (fast, checked on every whole-object read), `sha256:<hex>`
// for an SDK upload's content, `manifest-sha256:<hex>` for a FUSE write session's manifests.

import { createHash } from 'node:crypto';
import xxhash from 'xxhash-wasm';

let hasher: Awaited<ReturnType<typeof xxhash>> | undefined;

/** Loads the wasm hasher once; call before any blockDigest. */
export async function loadDigests(): Promise<void> {
  hasher ??= await xxhash();
}

export function blockDigest(bytes: Uint8Array): string {
  if (!hasher) throw new Error('loadDigests() must run before blockDigest()');
  return `xxh64:${hasher.h64Raw(bytes).toString(16).padStart(16, '0')}`;
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
