// The read-through block cache: whole objects keyed by object key, bounded in bytes, each checked
// against its digest when fetched (computed off the main thread: object/store.ts getDigested).
// Concurrent misses for one object share one GET.
//
// Fetches read into block buffers from the pool, and evicted blocks go back to it. Every reader
// copies out of a cached block before its next macrotask (a hit is copied at once; a fetch is
// copied in the promise reactions that follow it), so an evicted buffer is handed back only on
// setImmediate, once those reactions have run.

import { LRUCache } from 'lru-cache';
import { IOError } from '../errors.js';
import { getDigested, type ObjectStore } from '../object/store.js';
import type { BlockPool } from './block-pool.js';

export interface CacheStats {
  hits: number;
  misses: number;
  /** objects dropped to stay within the size bound */
  evictions: number;
  bytes: number;
}

export class BlockCache {
  private readonly cache: LRUCache<string, Buffer>;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  /** the memory of cached blocks that came from the pool, and go back to it when evicted */
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly store: ObjectStore, maxBytes: number, private readonly pool: BlockPool) {
    this.cache = new LRUCache<string, Buffer>({
      maxSize: Math.max(maxBytes, 1),
      sizeCalculation: (buf) => Math.max(buf.length, 1),
      dispose: (buf, _key, reason) => {
        if (reason === 'evict') this.stats.evictions++;
        if (this.pooled.delete(buf.buffer)) setImmediate(() => this.pool.give(Buffer.from(buf.buffer, 0, this.pool.blockBytes)));
      },
    });
  }

  /** The whole object, verified against `digestUri`; a mismatch is an EIO naming the key. */
  get(objectKey: string, digestUri: string): Promise<Buffer> {
    const cached = this.cached(objectKey);
    if (cached) return Promise.resolve(cached);
    const pending = this.inflight.get(objectKey);
    if (pending) return pending;
    this.stats.misses++;
    const fetch = this.fetch(objectKey, digestUri).finally(() => this.inflight.delete(objectKey));
    this.inflight.set(objectKey, fetch);
    return fetch;
  }

  /** The whole object if it is cached now (it was verified when fetched), without waiting. */
  cached(objectKey: string): Buffer | undefined {
    const bytes = this.cache.get(objectKey);
    if (bytes) this.stats.hits++;
    return bytes;
  }

  /** Forgets a cached object; its buffer goes back to the pool once current readers have copied out. */
  drop(objectKey: string): void {
    this.cache.delete(objectKey);
  }

  has(objectKey: string): boolean {
    return this.cache.has(objectKey) || this.inflight.has(objectKey);
  }

  currentStats(): CacheStats {
    return { ...this.stats, bytes: this.cache.calculatedSize ?? 0 };
  }

  private async fetch(objectKey: string, digestUri: string): Promise<Buffer> {
    const buffer = this.pool.take();
    let bytes: Buffer;
    let actual: string;
    try {
      ({ bytes, digestUri: actual } = await getDigested(this.store, objectKey, buffer));
    } catch (err) {
      this.pool.give(buffer);
      throw err;
    }
    if (actual !== digestUri) {
      this.pool.give(buffer);
      throw IOError(`checksum mismatch for object ${objectKey}: expected ${digestUri}, got ${actual} (${bytes.length} bytes)`);
    }
    if (bytes.buffer !== buffer.buffer) this.pool.give(buffer);
    else if (bytes.length < buffer.length / 2) {
      // A small object would pin a whole block buffer while the cache counts only its bytes.
      bytes = Buffer.from(bytes);
      this.pool.give(buffer);
    } else this.pooled.add(buffer.buffer);
    this.cache.set(objectKey, bytes);
    return bytes;
  }
}
