// The block digest as an independent implementation computes it: xxhash-wasm's XXH64 (seed 0),
// which Strata used before its own addon (scripts/block-io), against which the addon is checked.

import xxhash from 'xxhash-wasm';

let hasher: Awaited<ReturnType<typeof xxhash>> | undefined;

export async function referenceDigest(bytes: Uint8Array): Promise<string> {
  hasher ??= await xxhash();
  return `xxh64:${hasher.h64Raw(bytes).toString(16).padStart(16, '0')}`;
}
