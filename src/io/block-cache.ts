// The read-through block cache: whole objects keyed by object key, bounded in bytes, each checked
// against its digest when fetched. Concurrent misses for one object share one GET.

import { LRUCache } from 'lru-cache';
import { IOError } from '../errors.js';
import { blockDigest } from '../layout/digest.js';
import type { ObjectStore } from '../object/store.js';

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
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly store: ObjectStore, maxBytes: number) {
    this.cache = new LRUCache<string, Buffer>({
      maxSize: Math.max(maxBytes, 1),
      sizeCalculation: (buf) => Math.max(buf.length, 1),
      dispose: (_buf, _key, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
  }

  /** The whole object, verified against `digestUri`; a mismatch is an EIO naming the key. */
  get(objectKey: string, digestUri: string): Promise<Buffer> {
    const cached = this.cache.get(objectKey);
    if (cached) {
      this.stats.hits++;
      return Promise.resolve(cached);
    }
    const pending = this.inflight.get(objectKey);
    if (pending) return pending;
    this.stats.misses++;
    const fetch = this.store
      .get(objectKey)
      .then((bytes) => {
        const actual = blockDigest(bytes);
        if (actual !== digestUri) {
          throw IOError(`checksum mismatch for object ${objectKey}: expected ${digestUri}, got ${actual} (${bytes.length} bytes)`);
        }
        this.cache.set(objectKey, bytes);
        return bytes;
      })
      .finally(() => this.inflight.delete(objectKey));
    this.inflight.set(objectKey, fetch);
    return fetch;
  }

  has(objectKey: string): boolean {
    return this.cache.has(objectKey) || this.inflight.has(objectKey);
  }

  currentStats(): CacheStats {
    return { ...this.stats, bytes: this.cache.calculatedSize ?? 0 };
  }
}
