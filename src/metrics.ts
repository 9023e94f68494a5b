// The one Prometheus registry of this process and every Strata metric in it. The hot paths call the
// small record* functions below (a histogram observe per FUSE operation or object request); the
// gauges that describe a volume (cache, uploads, GC queue, pins, history) are read from it when the
// registry is collected, so nothing is kept up to date in the background.
//
// Served three ways, all the same text: the control socket (`strata status --metrics`),
// `strata mount --metrics-port <port>` (GET http://127.0.0.1:<port>/metrics) and `<mount>/.stats`.

import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { keys } from './meta/keys.js';
import type { Mutation, RawKV } from './meta/kv.js';
import type { Volume } from './volume.js';

export const registry = new Registry();

/** 100 µs .. 10 s: FUSE metadata ops sit at the low end, object requests and publishes at the high end. */
const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const registers = [registry];

// ---- FUSE ---------------------------------------------------------------------------------------

const fuseOpSeconds = new Histogram({
  name: 'strata_fuse_op_duration_seconds',
  help: 'FUSE operations answered, by operation: latency from the kernel request to the reply',
  labelNames: ['op'],
  buckets: LATENCY_BUCKETS_SECONDS,
  registers,
});
const fuseOpErrors = new Counter({ name: 'strata_fuse_op_errors_total', help: 'FUSE operations answered with an error, by operation and errno', labelNames: ['op', 'errno'], registers });
const fuseReadBytes = new Counter({ name: 'strata_fuse_read_bytes_total', help: 'bytes returned to FUSE reads', registers });
const fuseWrittenBytes = new Counter({ name: 'strata_fuse_written_bytes_total', help: 'bytes accepted from FUSE writes', registers });

/** One child per op, so the hot path does no label hashing. */
const fuseOpChildren = new Map<string, Histogram.Internal<'op'>>();
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [-value, name]));

/** Records one answered FUSE operation started at `startedMs` (performance.now()); errno 0 is success. */
export function recordFuseOp(op: string, startedMs: number, errno: number): void {
  let child = fuseOpChildren.get(op);
  if (!child) {
    child = fuseOpSeconds.labels(op);
    fuseOpChildren.set(op, child);
  }
  child.observe((performance.now() - startedMs) / 1000);
  if (errno < 0) fuseOpErrors.inc({ op, errno: errnoNames.get(errno) ?? String(errno) });
}

export function recordFuseBytes(direction: 'read' | 'write', bytes: number): void {
  if (bytes > 0) (direction === 'read' ? fuseReadBytes : fuseWrittenBytes).inc(bytes);
}

// ---- object store -------------------------------------------------------------------------------

export type ObjectOp = 'get' | 'put' | 'head' | 'delete' | 'list';

const objectSeconds = new Histogram({
  name: 'strata_object_request_duration_seconds',
  help: 'object store requests, by operation (get, put, head, delete, list), retries included',
  labelNames: ['op'],
  buckets: LATENCY_BUCKETS_SECONDS,
  registers,
});
const objectErrors = new Counter({ name: 'strata_object_request_errors_total', help: 'object store requests that failed after retries, by operation', labelNames: ['op'], registers });
const objectBytes = new Counter({ name: 'strata_object_bytes_total', help: 'bytes moved to and from the object store, by operation (get, put)', labelNames: ['op'], registers });
const objectsReclaimed = new Counter({ name: 'strata_gc_reclaimed_objects_total', help: 'objects deleted from the object store (object GC and staged-object cleanup)', registers });

const reclaimListeners = new Set<(count: number) => void>();

export function recordObjectRequest(op: ObjectOp, startedMs: number, ok: boolean, bytes = 0): void {
  objectSeconds.observe({ op }, (performance.now() - startedMs) / 1000);
  if (!ok) objectErrors.inc({ op });
  if (bytes > 0) objectBytes.inc({ op }, bytes);
}

export function recordObjectsDeleted(count: number): void {
  if (count <= 0) return;
  objectsReclaimed.inc(count);
  for (const listener of reclaimListeners) listener(count);
}

/** Calls `listener` with each batch of deleted objects until the returned function is called (gc progress). */
export function onObjectsDeleted(listener: (count: number) => void): () => void {
  reclaimListeners.add(listener);
  return () => reclaimListeners.delete(listener);
}

// ---- metadata -----------------------------------------------------------------------------------

const metadataWriteSeconds = new Histogram({
  name: 'strata_metadata_write_duration_seconds',
  help: 'RocksDB batch writes (one per metadata commit)',
  buckets: LATENCY_BUCKETS_SECONDS,
  registers,
});
const publishes = new Counter({ name: 'strata_publishes_total', help: 'file bodies published: commits of a new generation (close, fsync, strata put, compaction)', registers });
const compactions = new Counter({ name: 'strata_compactions_total', help: 'chunks rewritten as one slice because their slice stack grew too deep', registers });

const bodyTag = keys.body(0)[0];
const isPublish = (mutations: Mutation[]) => mutations.some((m) => m.type === 'put' && m.key[0] === bodyTag);

/** Times every RocksDB write and counts publishes: the only commits that put a body descriptor. */
export function meteredRawKV(raw: RawKV): RawKV {
  return {
    get: (key) => raw.get(key),
    getMany: (many) => raw.getMany(many),
    range: (start, end, options) => raw.range(start, end, options),
    close: () => raw.close(),
    async write(mutations, options) {
      const end = metadataWriteSeconds.startTimer();
      await raw.write(mutations, options);
      end();
      if (isPublish(mutations)) publishes.inc();
    },
  };
}

/** Called by the write path when it compacts a chunk. */
export function recordCompaction(chunks = 1): void {
  compactions.inc(chunks);
}

// ---- the volume: read at collection time -----------------------------------------------------------

interface Watched {
  volume: Volume;
  startedAtMs?: number;
}

let watched: Watched | undefined;

/** Makes `volume` the one the gauges describe (a process serves one volume). */
export function watchVolume(volume: Volume, options: { startedAtMs?: number } = {}): void {
  watched = { volume, startedAtMs: options.startedAtMs ?? (watched?.volume === volume ? watched.startedAtMs : undefined) };
  recordCounts = undefined;
}

/** Node's process metrics (CPU, memory, event-loop lag, GC): for a long-running mount. */
export function enableProcessMetrics(): void {
  collectDefaultMetrics({ register: registry });
}

export interface RecordCounts {
  gcQueue: number;
  staged: number;
  pins: number;
  historyRecords: number;
}

/** Scans the GC queue, staged, pin and history spaces. Costs what they hold; metrics cache it briefly. */
export async function countRecords(volume: Volume): Promise<RecordCounts> {
  const count = async (space: 'Q' | 'S' | 'P') => {
    const [start, end] = keys.spaceRange(space);
    return (await volume.kv.scan(start, end)).length;
  };
  const [gcQueue, staged, pins, history] = await Promise.all([
    count('Q'),
    count('S'),
    count('P'),
    volume.kv.historyEndedBy(Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER),
  ]);
  return { gcQueue, staged, pins, historyRecords: history.length };
}

const RECORD_COUNTS_TTL_MS = 5000;
let recordCounts: { atMs: number; counts: Promise<RecordCounts> } | undefined;

function cachedRecordCounts(volume: Volume): Promise<RecordCounts> {
  const now = Date.now();
  if (!recordCounts || now - recordCounts.atMs > RECORD_COUNTS_TTL_MS) {
    const counts = countRecords(volume);
    recordCounts = { atMs: now, counts };
    counts.catch(() => (recordCounts = undefined));
  }
  return recordCounts.counts;
}

/** A counter whose value is read from the volume when collected. */
function volumeCounter(name: string, help: string, read: (volume: Volume) => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      if (watched) this.inc(read(watched.volume));
    },
  });
}

function volumeGauge(name: string, help: string, read: (w: Watched) => number | undefined | Promise<number | undefined>): void {
  new Gauge({
    name,
    help,
    registers,
    async collect() {
      const value = watched ? await read(watched) : undefined;
      if (value === undefined) this.reset();
      else this.set(value);
    },
  });
}

volumeCounter('strata_block_cache_hits_total', 'block reads served from the block cache', (v) => v.cache.currentStats().hits);
volumeCounter('strata_block_cache_misses_total', 'block reads that fetched the object (concurrent misses share one GET)', (v) => v.cache.currentStats().misses);
volumeCounter('strata_block_cache_evictions_total', 'blocks evicted from the cache to stay within its size', (v) => v.cache.currentStats().evictions);
volumeGauge('strata_block_cache_bytes', 'bytes held by the block cache', (w) => w.volume.cache.currentStats().bytes);
volumeGauge('strata_uploads_in_flight', 'object PUTs of write sessions running now', (w) => w.volume.bodyContext.uploads.inFlight);
volumeGauge('strata_dirty_bytes', 'sealed write-session bytes waiting for or in upload (back-pressure starts at the limit)', (w) => w.volume.bodyContext.uploads.bytesHeld);
volumeGauge('strata_dirty_limit_bytes', 'writers wait while more than this is dirty (--max-dirty)', (w) => w.volume.bodyContext.uploads.limitBytes);
volumeGauge('strata_metadata_version', 'the version of the newest metadata commit', (w) => w.volume.kv.currentVersion());
volumeGauge('strata_gc_queue_objects', 'objects queued for GC (unreachable, waiting for grace, pins or leases)', async (w) => (await cachedRecordCounts(w.volume)).gcQueue);
volumeGauge('strata_staged_objects', 'uploaded objects not yet committed (cleaned up after the grace window)', async (w) => (await cachedRecordCounts(w.volume)).staged);
volumeGauge('strata_pins', 'active snapshot pins', async (w) => (await cachedRecordCounts(w.volume)).pins);
volumeGauge('strata_history_records', 'metadata records kept as history for pinned versions', async (w) => (await cachedRecordCounts(w.volume)).historyRecords);
volumeGauge('strata_mount_uptime_seconds', 'seconds since the mount started', (w) => (w.startedAtMs === undefined ? undefined : (Date.now() - w.startedAtMs) / 1000));

new Gauge({
  name: 'strata_volume_info',
  help: 'the volume these metrics describe, with its object store (always 1)',
  labelNames: ['volume', 'backend'],
  registers,
  collect() {
    this.reset();
    if (watched) this.set({ volume: watched.volume.name, backend: watched.volume.store.description }, 1);
  },
});

/** The Prometheus text exposition of every metric; `volume`, when given, becomes the watched one. */
export async function metricsText(volume?: Volume): Promise<string> {
  if (volume && watched?.volume !== volume) watchVolume(volume);
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;
