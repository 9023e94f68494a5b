// One regular file's body while it is open: the published manifests, and the write session on top.
//
// The session is three layers, bottom to top:
//   base      the published chunk manifests (cut at `truncatedTo` if the session shrank the file)
//   segments  sealed byte spans, one per block, uploading or uploaded as staged objects, in seal order
//   dirty     4 MiB block buffers with the byte ranges written since they were last sealed
// A block buffer is sealed (and its upload started) as soon as every byte of it is written; publish
// seals the rest, waits for the uploads, and commits one new generation in one metadata batch.
// In write-back mode a small span sealed by publish is not uploaded: its object is staged in the
// metadata store by that same batch, so it exists exactly when the generation that uses it does.
// Reads overlay the three layers, so the writer's own reads see its bytes at once.

import { IOError, isStrataError, NoSpace, type StrataError } from '../errors.js';
import { blockDigest, manifestDigest } from '../layout/digest.js';
import {
  canonicalManifest, clipEntries, normalizeManifest, overlay, shadowedEntries, stackedEntries,
  type BlockEntry, type ChunkManifest, type Slice,
} from '../layout/manifest.js';
import { blockObjectKey } from '../layout/object-keys.js';
import { loadBody, loadManifests, queueObjects } from '../meta/body-records.js';
import { recordCompaction } from '../metrics.js';
import { keys } from '../meta/keys.js';
import type { Namespace } from '../meta/namespace.js';
import { Mutex } from '../meta/mutex.js';
import { encode, type BodyDescriptor, type Inode, type StagedRecord } from '../meta/records.js';
import { Txn } from '../meta/txn.js';
import type { GenerationAllocator } from '../meta/generations.js';
import type { Mutation } from '../meta/kv.js';
import type { BatchStaging, ObjectStore } from '../object/store.js';
import type { BlockCache } from './block-cache.js';
import { addInterval, clipIntervals, coversWhole, gapsIn, type Interval } from './intervals.js';
import type { LeaseTable } from './leases.js';
import type { BlockPool } from './block-pool.js';
import type { UnsyncedObjects } from './unsynced-objects.js';
import type { UploadQueue } from './upload-queue.js';

export interface BodyContext {
  volume: string;
  namespace: Namespace;
  store: ObjectStore;
  cache: BlockCache;
  leases: LeaseTable;
  generations: GenerationAllocator;
  uploads: UploadQueue;
  blockPool: BlockPool;
  chunkBytes: number;
  blockBytes: number;
  /** the largest window fetched ahead of a sequential reader, in blocks; 0 turns readahead off */
  readaheadBlocks: number;
  clock: () => number;
  /** write-back mode: stages small objects in the publish commit instead of uploading them */
  batchStaging?: BatchStaging;
  /** what publishes without a sync left for a later fsync of the file to persist */
  unsynced: UnsyncedObjects;
}

interface DirtyBlock {
  chunkIndex: number;
  blockIndex: number;
  /** file offset of the block's first byte */
  blockStart: number;
  buffer: Buffer;
  dirty: Interval[];
}

interface Segment {
  seq: number;
  chunkIndex: number;
  entry: BlockEntry;
  /** the bytes, kept until the upload is done */
  bytes: Buffer | null;
  /** the block buffer the bytes live in, returned to the pool after the upload */
  buffer: Buffer;
  upload: Promise<void>;
  /** what stages the object in the publish commit, when it is not uploaded (write-back mode) */
  stagedWith: Mutation[] | null;
  failed: Error | null;
  /** cut away by a truncate before it had an object key: it is never uploaded */
  dropped: boolean;
  releaseLease: () => void;
}

export interface PublishOptions {
  producer?: 'fuse' | 'sdk';
  digestUri?: string;
  contentType?: string;
  sync?: boolean;
}

/** How far out of order a sequential reader's requests may arrive (the kernel's readahead window is 1 MiB). */
const STREAM_REORDER_BYTES = 2 * 1024 * 1024;

/** Past this many slices a chunk is compacted into one. */
export const MAX_SLICES_PER_CHUNK = 16;

/**
 * A small write gets a buffer its own size (rounded up to a power of two, from one page): V8 counts
 * every buffer allocated since its last full GC against the old generation's limit, so a 64 KiB
 * buffer per 4 KiB file made 5,000 new files after an idle mount (.probe/ctxsw.sh, PRESLEEP=4, 3
 * alternating rounds) cost 16-28 full GCs and 3.5-4.7 s, against 6-8 and 3.3-4.5 s.
 */
const MIN_BLOCK_BUFFER_BYTES = 4096;

/** A write that fills a big part of a block suggests a streaming writer: give it the whole block. */
function initialCapacity(needed: number, blockBytes: number): number {
  if (needed >= 128 * 1024) return blockBytes;
  return Math.min(blockBytes, Math.max(MIN_BLOCK_BUFFER_BYTES, 2 ** Math.ceil(Math.log2(needed))));
}

/** Releases a dropped segment's lease once its upload settles: an upload still in flight would land after GC deleted the key. */
function releaseWhenSettled(segment: Segment): void {
  const release = segment.releaseLease;
  segment.upload.then(release, release);
}

/** An upload failure as the writer sees it: a full disk stays ENOSPC, anything else is EIO. */
function uploadFailure(message: string, cause: unknown): StrataError {
  return isStrataError(cause, 'ENOSPC') ? NoSpace(message, cause) : IOError(message, cause);
}

export class FileBody {
  private manifests: Map<number, ChunkManifest>;
  private descriptor: BodyDescriptor | undefined;
  private readonly baseEntriesCache = new Map<number, BlockEntry[]>();
  private segments: Segment[] = [];
  private readonly dirty = new Map<number, DirtyBlock>();
  private truncatedTo: number | null = null;
  /** objects this session uploaded that no published manifest will ever reference */
  private sessionGarbage: string[] = [];
  private sessionGeneration = 0;
  private readonly keysUsedThisGeneration = new Set<string>();
  private seq = 0;
  private timesDirty = false;
  private readonly publishLock = new Mutex();
  /** where the current sequential read stream has got to; -1 before the first read */
  private streamEnd = -1;
  /** the current readahead window, in blocks: 0 until a second read in a row is sequential */
  private readaheadBlocks = 0;
  /** readahead has asked for the published objects up to here; each read asks only for what lies past it */
  private prefetchedTo = 0;
  /** the sequential stream has dropped the objects it passed from the block cache, up to here */
  private droppedTo = 0;

  sizeBytes: number;
  mtimeMs: number;
  ctimeMs: number;

  private constructor(
    private readonly ctx: BodyContext,
    readonly ino: number,
    inode: Inode,
    manifests: Map<number, ChunkManifest>,
    descriptor: BodyDescriptor | undefined,
    /** a read-only view of a past version (snapshots) */
    readonly readOnly: boolean,
  ) {
    this.manifests = manifests;
    this.descriptor = descriptor;
    this.sizeBytes = inode.sizeBytes;
    this.mtimeMs = inode.mtimeMs;
    this.ctimeMs = inode.ctimeMs;
  }

  static async load(ctx: BodyContext, inode: Inode, atVersion?: number): Promise<FileBody> {
    const kv = ctx.namespace.kv;
    const [manifests, descriptor] = await Promise.all([loadManifests(kv, inode.ino, atVersion), loadBody(kv, inode.ino, atVersion)]);
    return new FileBody(ctx, inode.ino, inode, manifests, descriptor, atVersion !== undefined);
  }

  /** The body of a file created a moment ago: nothing published yet, so nothing to load. */
  static empty(ctx: BodyContext, inode: Inode): FileBody {
    return new FileBody(ctx, inode.ino, inode, new Map(), undefined, false);
  }

  /** Whether the session holds anything not yet published. */
  get hasChanges(): boolean {
    return this.dirty.size > 0 || this.segments.length > 0 || this.truncatedTo !== null || this.timesDirty;
  }

  /**
   * The times of writes not yet published, which stat must show; null when there are none. A later
   * attribute change (chmod, chown, utimens) may have moved the inode's ctime past them.
   */
  get pendingTimes(): { mtimeMs: number; ctimeMs: number } | null {
    return this.timesDirty ? { mtimeMs: this.mtimeMs, ctimeMs: this.ctimeMs } : null;
  }

  /** utimens while writes are pending (tar sets a file's times before closing it): publish stamps `mtimeMs`, not the last write's. */
  setPendingMtime(mtimeMs: number): void {
    if (this.timesDirty) this.mtimeMs = mtimeMs;
  }

  currentManifests(): ReadonlyMap<number, ChunkManifest> {
    return this.manifests;
  }

  // ---- writes ------------------------------------------------------------------------------

  /** Copies `data` into block buffers; full blocks start uploading at once. */
  write(offset: number, data: Uint8Array): void {
    this.writeBytes(offset, data);
    this.sizeBytes = Math.max(this.sizeBytes, offset + data.length);
    this.touchTimes();
  }

  private newBlockBuffer(neededBytes: number): Buffer {
    const capacity = initialCapacity(neededBytes, this.ctx.blockBytes);
    return capacity === this.ctx.blockBytes ? this.ctx.blockPool.take() : Buffer.allocUnsafe(capacity);
  }

  /**
   * A copy of `buffer` with room for `neededBytes`. At full size it comes from the pool, so that it
   * can be written to disk directly (object/aligned-buffer.ts).
   */
  private grownBlockBuffer(buffer: Buffer, neededBytes: number): Buffer {
    const larger = this.newBlockBuffer(Math.max(neededBytes, buffer.length * 2));
    buffer.copy(larger);
    return larger;
  }

  /** Whether a writer should wait for uploads before sending more (back-pressure). */
  get mustDrain(): boolean {
    return this.ctx.uploads.overLimit;
  }

  private writeBytes(offset: number, data: Uint8Array): void {
    const { blockBytes, chunkBytes } = this.ctx;
    let written = 0;
    while (written < data.length) {
      const position = offset + written;
      const blockStart = position - (position % blockBytes);
      const inBlock = position - blockStart;
      const count = Math.min(blockBytes - inBlock, data.length - written);
      const blockNumber = blockStart / blockBytes;
      let block = this.dirty.get(blockNumber);
      if (!block) {
        const chunkIndex = Math.floor(blockStart / chunkBytes);
        block = {
          chunkIndex,
          blockIndex: (blockStart - chunkIndex * chunkBytes) / blockBytes,
          blockStart,
          buffer: this.newBlockBuffer(inBlock + count),
          dirty: [],
        };
        this.dirty.set(blockNumber, block);
      }
      if (block.buffer.length < inBlock + count) block.buffer = this.grownBlockBuffer(block.buffer, inBlock + count);
      block.buffer.set(data.subarray(written, written + count), inBlock);
      block.dirty = addInterval(block.dirty, inBlock, inBlock + count);
      written += count;
      if (coversWhole(block.dirty, blockBytes)) this.seal(blockNumber, block);
    }
  }

  private touchTimes(): void {
    this.mtimeMs = this.ctimeMs = this.ctx.clock();
    this.timesDirty = true;
  }

  /** Waits while too many sealed bytes are waiting for upload (back-pressure on the writer). */
  drain(): Promise<void> {
    return this.ctx.uploads.whenBelowLimit();
  }

  /** Shrinks or extends the file; bytes past a shrink are gone, an extension reads as zeros. */
  async truncate(sizeBytes: number): Promise<void> {
    await this.publishLock.run(async () => {
      if (sizeBytes < this.sizeBytes) {
        for (const [blockNumber, block] of this.dirty) {
          block.dirty = clipIntervals(block.dirty, sizeBytes - block.blockStart);
          if (block.dirty.length === 0) this.dirty.delete(blockNumber);
        }
        const kept: Segment[] = [];
        for (const segment of this.segments) {
          const [clipped] = clipEntries([segment.entry], sizeBytes);
          if (clipped) {
            segment.entry = clipped;
            kept.push(segment);
          } else if (segment.entry.objectKey === '') {
            segment.dropped = true;
          } else {
            this.sessionGarbage.push(segment.entry.objectKey);
            // GC may delete the key once the lease goes: hold it until the upload has landed or failed.
            releaseWhenSettled(segment);
          }
        }
        this.segments = kept;
        this.truncatedTo = Math.min(this.truncatedTo ?? Infinity, sizeBytes);
      }
      this.sizeBytes = sizeBytes;
      this.touchTimes();
    });
  }

  // ---- sealing and upload --------------------------------------------------------------------

  /** `publishing`: sealed by a publish, which commits right after its uploads end. */
  private seal(blockNumber: number, block: DirtyBlock, publishing = false): void {
    this.dirty.delete(blockNumber);
    const seq = ++this.seq;
    const spanStart = block.dirty[0]![0];
    const spanEnd = block.dirty[block.dirty.length - 1]![1];
    const gaps = gapsIn(block.dirty, spanStart, spanEnd);
    const placeholder: BlockEntry = { objectKey: '', logicalOffset: block.blockStart + spanStart, objectOffset: 0, len: spanEnd - spanStart, digestUri: '' };
    const segment: Segment = { seq, chunkIndex: block.chunkIndex, entry: placeholder, bytes: null, buffer: block.buffer, upload: Promise.resolve(), stagedWith: null, failed: null, dropped: false, releaseLease: () => {} };
    // Gaps between dirty ranges are filled from the layers below, so one object holds the span.
    const ready = Promise.all(
      gaps.map(async ([from, to]) => {
        const below = await this.readLayers(block.blockStart + from, to - from, seq);
        below.copy(block.buffer, from);
      }),
    );
    const releaseHeld = this.ctx.uploads.hold(spanEnd - spanStart);
    segment.upload = ready
      .then(async () => {
        const bytes = block.buffer.subarray(spanStart, spanEnd);
        if (segment.dropped) return;
        const objectKey = await this.nextObjectKey(block.chunkIndex, block.blockIndex);
        if (segment.dropped) return;
        // A truncate while the key was pending may have cut the entry: keep its length.
        segment.entry = { ...segment.entry, objectKey, digestUri: await blockDigest(bytes) };
        segment.bytes = bytes;
        segment.releaseLease = this.ctx.leases.acquire([objectKey]);
        segment.stagedWith = (publishing && this.ctx.batchStaging?.mutationsFor(objectKey, bytes)) || null;
        if (!segment.stagedWith) await this.uploadSegment(segment);
      })
      .catch((err: unknown) => {
        segment.failed = err instanceof Error ? err : new Error(String(err));
        throw segment.failed;
      })
      .finally(releaseHeld);
    segment.upload.catch(() => undefined);
    this.segments.push(segment);
  }

  private async uploadSegment(segment: Segment): Promise<void> {
    const { objectKey } = segment.entry;
    const bytes = segment.bytes!;
    const staged: StagedRecord = { stagedAtMs: this.ctx.clock() };
    // The staged record is committed while the object is written, and before it appears under its key.
    const recorded = this.ctx.namespace.kv.commit([{ type: 'put', key: keys.staged(objectKey), value: encode(staged) }]);
    recorded.catch(() => undefined);
    await this.ctx.uploads.run(() => this.ctx.store.put(objectKey, bytes, recorded));
    await recorded;
    segment.failed = null;
    segment.bytes = null;
    this.ctx.blockPool.give(segment.buffer);
  }

  private async nextObjectKey(chunkIndex: number, blockIndex: number): Promise<string> {
    const slot = `${chunkIndex}/${blockIndex}`;
    if (this.sessionGeneration === 0 || this.keysUsedThisGeneration.has(slot)) {
      this.sessionGeneration = await this.ctx.generations.allocate();
      this.keysUsedThisGeneration.clear();
    }
    this.keysUsedThisGeneration.add(slot);
    return blockObjectKey({ volume: this.ctx.volume, ino: this.ino, generation: this.sessionGeneration, chunkIndex, blockIndex });
  }

  // ---- reads ---------------------------------------------------------------------------------

  private baseEntries(chunkIndex: number): BlockEntry[] {
    let entries = this.baseEntriesCache.get(chunkIndex);
    if (!entries) {
      const manifest = this.manifests.get(chunkIndex);
      entries = manifest ? stackedEntries(manifest) : [];
      this.baseEntriesCache.set(chunkIndex, entries);
    }
    return this.truncatedTo === null ? entries : clipEntries(entries, this.truncatedTo);
  }

  /** Base and segments older than `belowSeq`, without dirty buffers: what a sealed span covers. */
  private async readLayers(offset: number, length: number, belowSeq: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.readLayersInto(out, offset, length, belowSeq);
    return out;
  }

  /** Fills `out[0, length)` with the bytes at `offset` of base and segments older than `belowSeq`. */
  private async readLayersInto(out: Buffer, offset: number, length: number, belowSeq: number): Promise<void> {
    const { chunkBytes } = this.ctx;
    const end = offset + length;
    const firstChunk = Math.floor(offset / chunkBytes);
    const lastChunk = Math.floor((end - 1) / chunkBytes);
    const below = this.segments.filter((s) => s.seq < belowSeq && s.chunkIndex >= firstChunk && s.chunkIndex <= lastChunk);
    if (below.length > 0) await Promise.all(below.map((segment) => segment.upload.catch(() => undefined)));
    // From here to the lease nothing awaits: GC cannot delete an object between plan and lease.
    const local = new Map<string, Buffer>();
    for (const segment of below) if (segment.bytes) local.set(segment.entry.objectKey, segment.bytes);
    const keysInPlan: string[] = [];
    const fetches: Array<() => Promise<void>> = [];
    for (let chunkIndex = firstChunk; chunkIndex <= lastChunk; chunkIndex++) {
      const chunkStart = Math.max(offset, chunkIndex * chunkBytes);
      const chunkEnd = Math.min(end, (chunkIndex + 1) * chunkBytes);
      const entries = below.length === 0 ? this.baseEntries(chunkIndex) : [...this.baseEntries(chunkIndex), ...below.filter((s) => s.chunkIndex === chunkIndex).map((s) => s.entry)];
      for (const piece of overlay(entries, chunkStart, chunkEnd)) {
        const source = piece.source;
        if (!source) {
          out.fill(0, piece.logicalOffset - offset, piece.logicalOffset - offset + piece.len);
          continue;
        }
        const target = piece.logicalOffset - offset;
        const copy = (bytes: Buffer) => void bytes.copy(out, target, source.objectOffset, source.objectOffset + piece.len);
        const localBytes = local.get(source.objectKey) ?? this.ctx.cache.cached(source.objectKey);
        if (localBytes) {
          copy(localBytes);
          continue;
        }
        keysInPlan.push(source.objectKey);
        fetches.push(() => this.ctx.cache.get(source.objectKey, source.digestUri).then(copy));
      }
    }
    if (fetches.length === 0) return;
    const release = this.ctx.leases.acquire(keysInPlan);
    try {
      // Every fetch settles before this returns: `out` may be a FUSE reply buffer, detached once answered.
      const outcomes = await Promise.allSettled(fetches.map((start) => start()));
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      release();
    }
  }

  /** Reads up to `length` bytes at `offset`; short only at the end of the file. */
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(Math.max(0, Math.min(offset + length, this.sizeBytes) - offset));
    return out.subarray(0, await this.readInto(out, offset, out.length));
  }

  /** Reads up to `length` bytes at `offset` into `out`; returns how many, short only at the end of the file. */
  async readInto(out: Buffer, offset: number, length: number): Promise<number> {
    const end = Math.min(offset + length, this.sizeBytes);
    if (end <= offset) return 0;
    await this.readLayersInto(out, offset, end - offset, Infinity);
    for (const block of this.dirty.values()) {
      for (const [from, to] of block.dirty) {
        const start = Math.max(block.blockStart + from, offset);
        const stop = Math.min(block.blockStart + to, end);
        if (start < stop) block.buffer.copy(out, start - offset, start - block.blockStart, stop - block.blockStart);
      }
    }
    this.readAhead(offset, end);
    return end - offset;
  }

  /**
   * Sequential reads fetch the next blocks early, a window that doubles up to the context's
   * `readaheadBlocks`. The kernel sends its readahead requests from several threads, so they
   * arrive a little out of order: a read counts as sequential when it starts near where the
   * stream has got to.
   */
  private readAhead(offset: number, end: number): void {
    if (this.ctx.readaheadBlocks === 0) return;
    const sequential = this.streamEnd >= 0 && Math.abs(offset - this.streamEnd) <= STREAM_REORDER_BYTES;
    if (!sequential) {
      // A random reader lands near the last read now and then; only two in a row start readahead.
      this.streamEnd = end;
      this.readaheadBlocks = 0;
      this.prefetchedTo = 0;
      this.droppedTo = offset;
      return;
    }
    this.streamEnd = Math.max(this.streamEnd, end);
    const { blockBytes } = this.ctx;
    const windowEnd = Math.min(this.sizeBytes, this.streamEnd + this.readaheadBlocks * blockBytes);
    const from = Math.max(this.streamEnd, this.prefetchedTo);
    if (windowEnd > from) {
      this.prefetch(from, windowEnd);
      this.prefetchedTo = windowEnd;
    }
    this.readaheadBlocks = Math.min(Math.max(1, this.readaheadBlocks * 2), this.ctx.readaheadBlocks);
    const dropLine = this.streamEnd - STREAM_REORDER_BYTES - blockBytes;
    if (dropLine > this.droppedTo) {
      this.dropBehind(this.droppedTo, dropLine);
      this.droppedTo = dropLine;
    }
  }

  /**
   * Drops from the block cache the published objects whose place in the file ends in (start, end]:
   * a sequential reader does not come back to them (the kernel's page cache keeps what it read),
   * and their buffers go back to the pool for the blocks ahead. Without this a long read fills the
   * whole cache with fresh buffers: page faults, and a major GC every few blocks.
   */
  private dropBehind(start: number, end: number): void {
    const { chunkBytes } = this.ctx;
    for (let chunkIndex = Math.floor(start / chunkBytes); chunkIndex * chunkBytes < end; chunkIndex++) {
      for (const entry of this.baseEntries(chunkIndex)) {
        const entryEnd = entry.logicalOffset + entry.len;
        if (entryEnd > start && entryEnd <= end) this.ctx.cache.drop(entry.objectKey);
      }
    }
  }

  /** Starts fetching the published objects behind [start, end) into the block cache, without copying. */
  private prefetch(start: number, end: number): void {
    const { chunkBytes } = this.ctx;
    for (let chunkIndex = Math.floor(start / chunkBytes); chunkIndex * chunkBytes < end; chunkIndex++) {
      const from = Math.max(start, chunkIndex * chunkBytes);
      const to = Math.min(end, (chunkIndex + 1) * chunkBytes);
      for (const piece of overlay(this.baseEntries(chunkIndex), from, to)) {
        if (piece.source && !this.ctx.cache.has(piece.source.objectKey)) this.ctx.cache.get(piece.source.objectKey, piece.source.digestUri).catch(() => undefined);
      }
    }
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * Uploads what is still dirty and commits a new generation: inode, the touched manifests,
   * descriptor and GC-queue records in one batch. On failure the previous generation stays whole
   * and the session keeps its data for a later try.
   */
  publish(options: PublishOptions = {}): Promise<void> {
    return this.publishLock.run(async () => {
      if (this.readOnly) return;
      if (this.hasChanges) {
        await this.commitSession(options);
        await this.compactDeepChunks();
      } else if (options.sync) {
        // Nothing new, but earlier writes (another handle, before a close) may still be unsynced.
        await this.ctx.unsynced.persist(this.ino);
        await this.ctx.namespace.kv.settle({ sync: true });
      }
    });
  }

  /**
   * Rewrites chunks whose slice stacks grew past the bound: their visible bytes (holes stay holes)
   * become one fresh slice, which shadows every older entry, so publish queues the old objects.
   * The content does not change, so neither do the times nor the body digest.
   */
  private async compactDeepChunks(): Promise<void> {
    if (this.hasChanges || !this.descriptor) return;
    const deep = [...this.manifests.values()].filter((m) => m.slices.length > MAX_SLICES_PER_CHUNK);
    if (deep.length === 0) return;
    const rewrites: Array<{ offset: number; bytes: Buffer }> = [];
    for (const manifest of deep) {
      const chunkStart = manifest.chunkIndex * this.ctx.chunkBytes;
      for (const piece of overlay(this.baseEntries(manifest.chunkIndex), chunkStart, chunkStart + manifest.len)) {
        if (piece.source) rewrites.push({ offset: piece.logicalOffset, bytes: await this.readLayers(piece.logicalOffset, piece.len, Infinity) });
      }
    }
    // A write that came in while we read is newer than what we read: compact another time.
    if (this.hasChanges) return;
    for (const { offset, bytes } of rewrites) this.writeBytes(offset, bytes);
    await this.commitSession({ producer: this.descriptor.producer, digestUri: this.descriptor.digestUri });
    recordCompaction(deep.length);
  }

  private async commitSession(options: PublishOptions): Promise<void> {
    for (const [blockNumber, block] of [...this.dirty]) this.seal(blockNumber, block, true);
    const committing = [...this.segments];
    const publishedSize = this.sizeBytes;
    const times = this.pendingTimes;
    const truncatedTo = this.truncatedTo;
    await Promise.all(committing.map((s) => s.upload.catch(() => undefined)));
    for (const segment of committing) {
      if (segment.failed) await this.retryUpload(segment);
    }
    const stagedHere = committing.filter((segment) => segment.stagedWith);
    const uploadedKeys = committing.filter((segment) => !segment.stagedWith).map((segment) => segment.entry.objectKey);
    if (options.sync) {
      await this.ctx.store.persist(uploadedKeys);
      await this.ctx.unsynced.persist(this.ino);
    }
    const generation = this.sessionGeneration || (await this.ctx.generations.allocate());
    const { txn, manifests, garbage, written } = this.buildCommit(committing, truncatedTo, generation);
    const garbageFromSession = [...this.sessionGarbage];
    await this.ctx.namespace.mutate(async () => {
      const inode = await this.ctx.namespace.getattr(this.ino);
      const now = this.ctx.clock();
      const descriptor: BodyDescriptor = {
        producer: options.producer ?? 'fuse',
        digestUri: options.digestUri ?? manifestDigest(this.descriptor?.digestUri ?? '', written.map(canonicalManifest)),
        sizeBytes: publishedSize,
        contentType: options.contentType ?? this.descriptor?.contentType ?? 'application/octet-stream',
        generation,
        manifestId: `${this.ctx.volume}/${this.ino}/${generation}`,
        chunkBytes: this.ctx.chunkBytes,
        blockBytes: this.ctx.blockBytes,
      };
      txn.put(keys.body(this.ino), descriptor);
      // An attribute change since the last write has moved ctime on: it stays.
      const publishedTimes = times && { mtimeMs: times.mtimeMs, ctimeMs: Math.max(times.ctimeMs, inode.ctimeMs) };
      txn.putInode({ ...inode, sizeBytes: publishedSize, generation, ...publishedTimes }, inode);
      queueObjects(txn, [...garbage, ...garbageFromSession], now);
      for (const key of [...uploadedKeys, ...garbageFromSession]) txn.del(keys.staged(key));
      for (const segment of stagedHere) {
        const { objectKey } = segment.entry;
        const bytes = segment.bytes!;
        txn.mutations.push(...segment.stagedWith!);
        txn.afterCommit(() => this.ctx.batchStaging!.committed(objectKey, bytes));
      }
      await this.ctx.namespace.commit(txn, options.sync ?? false);
      this.descriptor = descriptor;
    });
    if (!options.sync) this.ctx.unsynced.add(this.ino, uploadedKeys);
    this.manifests = manifests;
    this.baseEntriesCache.clear();
    this.prefetchedTo = 0;
    const committed = new Set(committing);
    this.segments = this.segments.filter((s) => !committed.has(s));
    for (const segment of committing) segment.releaseLease();
    for (const segment of stagedHere) {
      segment.bytes = null;
      this.ctx.blockPool.give(segment.buffer);
    }
    this.sessionGarbage = this.sessionGarbage.slice(garbageFromSession.length);
    if (this.truncatedTo === truncatedTo) this.truncatedTo = null;
    this.sessionGeneration = 0;
    this.keysUsedThisGeneration.clear();
    this.timesDirty = this.dirty.size > 0;
  }

  private async retryUpload(segment: Segment): Promise<void> {
    const cause = segment.failed;
    const reason = cause?.message ?? 'unknown error';
    if (!segment.bytes || !segment.entry.objectKey) {
      throw uploadFailure(`writing inode ${this.ino} at offset ${segment.entry.logicalOffset} failed: ${reason}`, cause);
    }
    segment.upload = this.uploadSegment(segment);
    try {
      await segment.upload;
    } catch (err) {
      throw uploadFailure(`upload of ${segment.entry.objectKey} failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  /** The new manifests of the touched chunks, the objects they make unreachable, and the batch. */
  private buildCommit(committing: Segment[], truncatedTo: number | null, generation: number) {
    const { chunkBytes } = this.ctx;
    const txn = new Txn();
    const manifests = new Map(this.manifests);
    const garbage: string[] = [];
    const written: ChunkManifest[] = [];
    const touched = new Set(committing.map((s) => s.chunkIndex));
    if (truncatedTo !== null) {
      for (const chunkIndex of this.manifests.keys()) {
        if ((chunkIndex + 1) * chunkBytes > truncatedTo) touched.add(chunkIndex);
      }
    }
    for (const chunkIndex of [...touched].sort((a, b) => a - b)) {
      const base = this.manifests.get(chunkIndex);
      const slices: Slice[] = (base?.slices ?? []).map((slice) => {
        if (truncatedTo === null) return slice;
        const kept = clipEntries(slice.blocks, truncatedTo);
        for (const entry of slice.blocks) if (!kept.some((k) => k.objectKey === entry.objectKey)) garbage.push(entry.objectKey);
        return { ...slice, blocks: kept };
      });
      const fresh = committing.filter((s) => s.chunkIndex === chunkIndex).sort((a, b) => a.seq - b.seq).map((s) => s.entry);
      if (fresh.length > 0) slices.push({ sliceId: generation, logicalOffset: 0, len: 0, blocks: fresh });
      const shadowed = shadowedEntries(slices.flatMap((slice) => slice.blocks));
      for (const entry of shadowed) garbage.push(entry.objectKey);
      const manifest = normalizeManifest(
        chunkIndex,
        slices.map((slice) => ({ ...slice, blocks: slice.blocks.filter((entry) => !shadowed.has(entry)) })),
        chunkBytes,
      );
      if (manifest) {
        manifests.set(chunkIndex, manifest);
        txn.put(keys.manifest(this.ino, chunkIndex), manifest);
        written.push(manifest);
      } else {
        manifests.delete(chunkIndex);
        txn.del(keys.manifest(this.ino, chunkIndex));
      }
    }
    return { txn, manifests, garbage, written };
  }

  /** Ends the session without publishing: its uploads become staged garbage for cleanup. */
  discard(): void {
    for (const segment of this.segments) {
      if (segment.entry.objectKey === '') segment.dropped = true;
      else releaseWhenSettled(segment);
    }
    this.segments = [];
    this.dirty.clear();
  }
}
