// Opens a volume: wires the metadata store, the object store, the block cache, write sessions and
// the workers together. Everything that uses a volume (mount, CLI, tests) starts here.

import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { blockIo } from './block-io.js';
import { Invalid, IOError } from './errors.js';
import { volumePaths, type VolumePaths } from './home.js';
import { BlockCache } from './io/block-cache.js';
import { BlockPool } from './io/block-pool.js';
import { LeaseTable } from './io/leases.js';
import { OpenFiles } from './io/open-files.js';
import { UploadQueue } from './io/upload-queue.js';
import { BLOCK_BYTES, CHUNK_BYTES } from './layout/manifest.js';
import { GenerationAllocator } from './meta/generations.js';
import { keys } from './meta/keys.js';
import type { RawKV } from './meta/kv.js';
import { Namespace, type Caller } from './meta/namespace.js';
import { decode, encode, type PinRecord, type VolumeRecord } from './meta/records.js';
import { immediateWriteSupport } from './meta/rocks-immediate.js';
import { RocksRawKV } from './meta/rocks.js';
import { VersionedKV } from './meta/versioned.js';
import { meteredRawKV } from './metrics.js';
import { log } from './log.js';
import { FileObjectStore } from './object/file.js';
import { MetadataObjectStore } from './object/metadata-store.js';
import { MeteredObjectStore } from './object/metered.js';
import { openObjectStore, type ObjectStoreConfig } from './object/open.js';
import type { ObjectStore } from './object/store.js';
import { WritebackObjectStore } from './object/writeback.js';
import type { BodyContext } from './io/file-body.js';
import { UnsyncedObjects } from './io/unsynced-objects.js';

export interface VolumeOptions {
  home: string;
  volume: string;
  /** the object store; required when the volume is created, read from volume.json afterwards */
  objectStore?: ObjectStoreConfig;
  readOnly?: boolean;
  cacheBytes?: number;
  /** the largest window fetched ahead of a sequential reader; 0 turns readahead off */
  readaheadBytes?: number;
  maxDirtyBytes?: number;
  uploadConcurrency?: number;
  /** the owner of a new volume's root directory */
  owner?: Caller;
  /** write-back mode: puts are staged in the volume's home and upload in the background */
  writeback?: boolean;
  /** how long a staged object waits before its upload starts (write-back mode, and small objects staged for a local object store) */
  uploadDelayMs?: number;
  /** wraps the RocksDB store, for fault-injection tests */
  wrapRawKV?: (raw: RawKV) => RawKV;
}

interface StoredConfig {
  objectStore: ObjectStoreConfig;
}

export const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_DIRTY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_READAHEAD_BYTES = 32 * 1024 * 1024;
const WRITEBACK_UPLOADS = 8;
const WRITEBACK_RETRY_MS = 5000;
export const DEFAULT_UPLOAD_DELAY_MS = 10_000;
/** How long a small object staged for a local object store waits before it moves there. */
const LOCAL_UPLOAD_DELAY_MS = 2_000;
/** Objects published without a sync that the volume lists for a later fsync, before it syncs them all. */
const MAX_UNSYNCED_OBJECTS = 65_536;

async function readConfig(paths: VolumePaths): Promise<StoredConfig | undefined> {
  try {
    return JSON.parse(await readFile(paths.configFile, 'utf8')) as StoredConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw Invalid(`${paths.configFile} is not a Strata volume configuration: ${(err as Error).message}`);
  }
}

export class Volume {
  private pinCount = 0;

  private constructor(
    readonly name: string,
    readonly paths: VolumePaths,
    readonly kv: VersionedKV,
    readonly store: ObjectStore,
    readonly namespace: Namespace,
    readonly files: OpenFiles,
    readonly bodyContext: BodyContext,
  ) {}

  static async open(options: VolumeOptions): Promise<Volume> {
    // Without the block digest addon no block can be written or read: say so before anything opens.
    blockIo();
    const paths = volumePaths(options.home, options.volume);
    const stored = await readConfig(paths);
    const objectStoreConfig = stored?.objectStore ?? options.objectStore ?? { backend: 'file', root: paths.objectsDir };
    if (!stored) {
      await mkdir(paths.root, { recursive: true, mode: 0o700 });
      await writeFile(paths.configFile, JSON.stringify({ objectStore: withoutSecrets(objectStoreConfig) }, null, 2) + '\n', { mode: 0o600 });
    }
    let raw: RawKV;
    try {
      raw = await RocksRawKV.open(paths.metaDir);
    } catch (err) {
      throw await explainOpenFailure(paths, err);
    }
    const immediate = immediateWriteSupport();
    if ('unavailable' in immediate) log('warn', 'metadata commits go through the thread pool, which is slower', { cause: immediate.unavailable });
    if (options.wrapRawKV) raw = options.wrapRawKV(raw);
    raw = meteredRawKV(raw);
    let volume: Volume | undefined;
    const kv = await VersionedKV.open(raw, () => (volume?.pinCount ?? 0) > 0);
    const store = await withWriteback(
      new MeteredObjectStore(openObjectStore({ ...objectStoreConfig, ...credentialsOf(options.objectStore) } as ObjectStoreConfig)),
      kv,
      paths,
      options,
      objectStoreConfig.backend === 'file',
    ).catch(async (err: unknown) => {
      await kv.close();
      throw err;
    });
    const files = new OpenFiles();
    const namespace = new Namespace(kv, files, options.readOnly ?? false);
    const maxDirtyBytes = options.maxDirtyBytes ?? DEFAULT_MAX_DIRTY_BYTES;
    // As many pooled buffers as the dirty cap holds blocks: with 16, the blocks a burst of finished
    // uploads handed back past the pool became garbage faster than the GC collected it, and a write
    // under disk contention reached 587 MiB of buffers with at most 256 MiB dirty (.probe/rssprobe.sh).
    const blockPool = new BlockPool(BLOCK_BYTES, Math.ceil(maxDirtyBytes / BLOCK_BYTES));
    const ctx: BodyContext = {
      volume: options.volume,
      namespace,
      store,
      cache: new BlockCache(store, options.cacheBytes ?? DEFAULT_CACHE_BYTES, blockPool),
      leases: new LeaseTable(),
      generations: new GenerationAllocator(kv),
      uploads: new UploadQueue(options.uploadConcurrency ?? 16, maxDirtyBytes),
      blockPool,
      chunkBytes: CHUNK_BYTES,
      blockBytes: BLOCK_BYTES,
      readaheadBlocks: Math.ceil((options.readaheadBytes ?? DEFAULT_READAHEAD_BYTES) / BLOCK_BYTES),
      clock: Date.now,
      batchStaging: store instanceof WritebackObjectStore ? store : undefined,
      unsynced: new UnsyncedObjects(store, MAX_UNSYNCED_OBJECTS, (err) =>
        log('warn', 'syncing objects published without a sync failed; a later fsync of their file tries again', { cause: err instanceof Error ? err.message : String(err) }),
      ),
    };
    files.bind(ctx);
    volume = new Volume(options.volume, paths, kv, store, namespace, files, ctx);
    await volume.initialize(options.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    return volume;
  }

  private async initialize(owner: Caller): Promise<void> {
    const existing = await this.kv.get(keys.volume());
    if (existing) {
      const record = decode<VolumeRecord>(existing);
      if (record.volume !== this.name) throw Invalid(`${this.paths.metaDir} holds volume ${record.volume}, not ${this.name}`);
    } else {
      const record: VolumeRecord = { format: 1, volume: this.name, createdAtMs: Date.now(), chunkBytes: CHUNK_BYTES, blockBytes: BLOCK_BYTES };
      await this.kv.commit([{ type: 'put', key: keys.volume(), value: encode(record) }], { sync: true });
      await this.namespace.initRoot(owner);
    }
    await this.namespace.loadUsage();
    await this.refreshPins();
  }

  /** Re-reads the pin count that decides whether commits keep history. */
  async refreshPins(): Promise<PinRecord[]> {
    const [start, end] = keys.spaceRange('P');
    const pins = (await this.kv.scan(start, end)).map((entry) => decode<PinRecord>(entry.value));
    this.pinCount = pins.length;
    return pins;
  }

  get cache(): BlockCache {
    return this.bodyContext.cache;
  }

  async close(): Promise<void> {
    await this.files.publishAll(true);
    // Write-back uploads read and delete what is staged in the metadata store: they end first.
    await this.store.close();
    await this.kv.close();
  }
}

/**
 * The write-back layer, when the mount asks for it, when the object store is a local folder (small
 * objects are staged by their publish commit), or when an earlier mount left staged objects behind
 * (they are uploaded now, in any mode); otherwise the object store itself.
 */
async function withWriteback(remote: ObjectStore, kv: VersionedKV, paths: VolumePaths, options: VolumeOptions, remoteIsLocal: boolean): Promise<ObjectStore> {
  const writable = !(options.readOnly ?? false);
  const stageWrites = (options.writeback ?? false) && writable;
  const stagePublished = remoteIsLocal && writable;
  const [start, end] = keys.stagedBytesRange('');
  const stagedInMetadata = (await kv.scan(start, end, { limit: 1 })).length > 0;
  if (!stageWrites && !stagePublished && !stagedInMetadata && !(await isNonEmptyDir(paths.stagingDir))) return remote;
  const staging = { folder: new FileObjectStore(paths.stagingDir, { flushBehind: false }), metadata: new MetadataObjectStore(kv) };
  return WritebackObjectStore.open(staging, remote, {
    stageWrites,
    stagePublished,
    concurrency: WRITEBACK_UPLOADS,
    uploadDelayMs: options.uploadDelayMs ?? (stageWrites ? DEFAULT_UPLOAD_DELAY_MS : LOCAL_UPLOAD_DELAY_MS),
    retryDelayMs: WRITEBACK_RETRY_MS,
    log,
    removeStaging: () => rm(paths.stagingDir, { recursive: true, force: true }),
  });
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function withoutSecrets(config: ObjectStoreConfig): ObjectStoreConfig {
  if (config.backend === 'file') return config;
  const { credentials: _omitted, ...rest } = config;
  return rest;
}

function credentialsOf(config: ObjectStoreConfig | undefined): object {
  return config && config.backend !== 'file' && config.credentials ? { credentials: config.credentials } : {};
}

async function explainOpenFailure(paths: VolumePaths, err: unknown): Promise<Error> {
  const message = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(message)) {
    const holder = await readFile(paths.mountInfo, 'utf8').then((text) => JSON.parse(text) as { pid: number; mountpoint?: string }).catch(() => undefined);
    const who = holder ? `process ${holder.pid}${holder.mountpoint ? ` (mounted at ${holder.mountpoint})` : ''}` : 'another process';
    return IOError(`volume metadata ${paths.metaDir} is locked by ${who}; unmount it or use its control socket`, err);
  }
  return IOError(`cannot open volume metadata ${paths.metaDir}: ${message}`, err);
}
