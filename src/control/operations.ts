// What the CLI can ask of a volume, by name. A live mount serves these on its control socket; with
// no mount running, the CLI opens the volume and runs the same functions itself. Long operations
// (put, get, gc, fsck) report progress through `ctx.progress` when the caller asked for it.

import { access, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Invalid } from '../errors.js';
import { fsck } from '../gc/fsck.js';
import { runGc } from '../gc/run.js';
import { getFile, putFile } from '../io/transfer.js';
import { volumeObjectPrefix } from '../layout/object-keys.js';
import { loadBody, loadManifests } from '../meta/body-records.js';
import { countRecords, metricsText, onObjectsDeleted } from '../metrics.js';
import { findPin, listPins, pinSnapshot, retireSnapshot } from '../snapshot/pins.js';
import { WritebackObjectStore } from '../object/writeback.js';
import type { Volume } from '../volume.js';

/** `done` of `total` units (bytes for put and get, objects for gc and fsck). */
export type ProgressReport = (done: number, total: number) => void;

export interface OperationContext {
  volume: Volume;
  /** set in a live mount */
  mountpoint?: string;
  startedAtMs?: number;
  /** where the mount logs; undefined when it logs to a terminal or a supervisor's pipe */
  logFile?: string;
  /** http://127.0.0.1:<port>/metrics when the mount serves metrics over HTTP */
  metricsUrl?: string;
  /**
   * Set in a live mount once it is mounted: the kernel may cache a file's attributes for a second,
   * and a change the mount's own handlers did not make must tell it to drop them.
   */
  forgetCachedAttrs?: (ino: number) => void;
  /** set when the caller asked for progress */
  progress?: ProgressReport;
}

type Operation = (ctx: OperationContext, args: Record<string, unknown>) => Promise<unknown>;

function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw Invalid(`request needs a string "${name}"`);
  if (value.includes('\0')) throw Invalid(`request's "${name}" contains a NUL byte`);
  return value;
}

/** A non-negative whole number argument (a uid, a grace window in ms), or `fallback` when absent. */
function countArg(args: Record<string, unknown>, name: string, fallback: number): number {
  const value = args[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw Invalid(`request's "${name}" must be a whole number >= 0, not ${JSON.stringify(value)}`);
  return value;
}

/** What `strata status` prints; `--json` prints exactly this. */
export interface StatusReport {
  volume: string;
  backend: string;
  home: string;
  mounted: boolean;
  mountpoint: string | null;
  pid: number | null;
  uptimeSeconds: number | null;
  /** the mount's log file (a detached mount's strata.log); null while a foreground mount logs to its stderr */
  logFile: string | null;
  metricsUrl: string | null;
  metadataVersion: number;
  /** the RocksDB directory's bytes on disk */
  metadataBytes: number;
  objects: number;
  objectBytes: number;
  inodes: number;
  files: number;
  directories: number;
  /** the sum of regular files' sizes */
  fileBytes: number;
  pins: number;
  gcQueue: number;
  staged: number;
  historyRecords: number;
  cache: { hits: number; misses: number; evictions: number; bytes: number; hitRate: number | null };
  uploadsInFlight: number;
  dirtyBytes: number;
  /** writers wait while more than this is dirty (`--max-dirty`) */
  dirtyLimitBytes: number;
  /** objects staged in write-back mode that the object store does not hold yet */
  writebackPending: number;
}

/** Bytes a directory tree occupies on disk (allocated blocks, as du counts them). */
export async function diskUsageBytes(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  let total = info.blocks * 512;
  if (info.isDirectory()) {
    for (const name of await readdir(path).catch(() => [] as string[])) total += await diskUsageBytes(join(path, name));
  }
  return total;
}

async function status(ctx: OperationContext): Promise<StatusReport> {
  const { volume } = ctx;
  const { inodes, files, directories, fileBytes } = await volume.namespace.usage();
  let objects = 0;
  let objectBytes = 0;
  for await (const info of volume.store.list(volumeObjectPrefix(volume.name))) {
    objects += 1;
    objectBytes += info.sizeBytes;
  }
  const counts = await countRecords(volume);
  const cache = volume.cache.currentStats();
  const mounted = ctx.mountpoint !== undefined;
  const lastLog = mounted ? undefined : await access(volume.paths.logFile).then(() => volume.paths.logFile, () => undefined);
  return {
    volume: volume.name,
    backend: volume.store.description,
    home: volume.paths.root,
    mounted,
    mountpoint: ctx.mountpoint ?? null,
    pid: mounted ? process.pid : null,
    uptimeSeconds: ctx.startedAtMs === undefined ? null : Math.round((Date.now() - ctx.startedAtMs) / 1000),
    logFile: ctx.logFile ?? lastLog ?? null,
    metricsUrl: ctx.metricsUrl ?? null,
    metadataVersion: volume.kv.currentVersion(),
    metadataBytes: await diskUsageBytes(volume.paths.metaDir),
    objects,
    objectBytes,
    inodes,
    files,
    directories,
    fileBytes,
    pins: counts.pins,
    gcQueue: counts.gcQueue,
    staged: counts.staged,
    historyRecords: counts.historyRecords,
    cache: { ...cache, hitRate: cache.hits + cache.misses === 0 ? null : cache.hits / (cache.hits + cache.misses) },
    uploadsInFlight: volume.bodyContext.uploads.inFlight,
    dirtyBytes: volume.bodyContext.uploads.bytesHeld,
    dirtyLimitBytes: volume.bodyContext.uploads.limitBytes,
    writebackPending: volume.store instanceof WritebackObjectStore ? volume.store.pendingUploads : 0,
  };
}

export const operations: Record<string, Operation> = {
  'snapshot.pin': ({ volume }, args) => pinSnapshot(volume, stringArg(args, 'name')),
  'snapshot.list': ({ volume }) => listPins(volume),
  'snapshot.retire': ({ volume }, args) => retireSnapshot(volume, stringArg(args, 'name')),

  put: async (ctx, args) => {
    const put = await putFile(ctx.volume, stringArg(args, 'local'), stringArg(args, 'path'), { uid: countArg(args, 'uid', 0), gid: countArg(args, 'gid', 0) }, ctx.progress);
    ctx.forgetCachedAttrs?.(put.ino);
    return put;
  },

  get: async ({ volume, progress }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    return getFile(volume, stringArg(args, 'path'), stringArg(args, 'local'), { atVersion: snapshot?.version, progress });
  },

  gc: async ({ volume, progress }, args) => {
    const options = { graceMs: countArg(args, 'graceMs', 3_600_000), dryRun: args.dryRun === true };
    if (!progress) return runGc(volume, options);
    // Progress in objects deleted out of those queued or staged when the pass starts.
    const counts = await countRecords(volume);
    const total = counts.gcQueue + counts.staged;
    let done = 0;
    progress(0, total);
    const stop = onObjectsDeleted((count) => {
      done = Math.min(total, done + count);
      progress(done, total);
    });
    try {
      return await runGc(volume, options);
    } finally {
      stop();
      progress(total, total);
    }
  },
  fsck: ({ volume, progress }, args) => fsck(volume, { repair: args.repair === true, onProgress: progress }),

  stat: async ({ volume }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    const atVersion = snapshot?.version;
    const inode = await volume.namespace.resolve(stringArg(args, 'path'), atVersion);
    const manifests = [...(await loadManifests(volume.kv, inode.ino, atVersion)).values()];
    return { inode, descriptor: (await loadBody(volume.kv, inode.ino, atVersion)) ?? null, manifests };
  },

  ls: async ({ volume }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    const dir = await volume.namespace.resolve(stringArg(args, 'path'), snapshot?.version);
    const entries = await volume.namespace.readdir(dir.ino, { atVersion: snapshot?.version });
    return Promise.all(entries.map(async (entry) => ({ ...entry, inode: await volume.namespace.getattr(entry.ino, snapshot?.version) })));
  },

  status,

  /** The Prometheus text of this process's metrics. */
  metrics: ({ volume }) => metricsText(volume),
};

export function runOperation(ctx: OperationContext, name: string, args: Record<string, unknown>): Promise<unknown> {
  const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
  if (!operation) return Promise.reject(Invalid(`unknown control operation ${JSON.stringify(name)}`));
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return Promise.reject(Invalid(`the arguments of ${name} must be an object`));
  return operation(ctx, args);
}
