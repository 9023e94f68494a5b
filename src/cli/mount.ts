// strata mount <dir>: mounts a volume. Without --foreground it starts itself again in the
// background (logging to the volume's strata.log) and returns once the mount answers.
// strata umount <dir>: asks that mount to publish, stop and unmount.

import { spawn } from 'node:child_process';
import { open, readdir, readFile, realpath, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { serveControl } from '../control/server.js';
import { defaultHome, volumePaths } from '../home.js';
import { isLogLevel, log, LOG_LEVELS, setLogLevel } from '../log.js';
import { enableProcessMetrics, metricsText, watchVolume } from '../metrics.js';
import { serveMetrics } from '../control/metrics-http.js';
import type { OperationContext } from '../control/operations.js';
import { startGcWorker } from '../gc/run.js';
import { cleanupStaged } from '../gc/staged.js';
import { BLOCK_BYTES } from '../layout/manifest.js';
import { findPin } from '../snapshot/pins.js';
import { Volume } from '../volume.js';
import { isFuseMounted, mountVolume, recoverStaleMount } from '../../mount/run.js';
import { parseArgs, UsageError } from './args.js';
import { checkVolumeHome, VOLUME_FLAGS, VOLUME_USAGE, volumeOptions } from './common.js';

const runCommand = promisify(execFile);
const DEFAULT_GRACE_MS = 3_600_000;
const GC_INTERVAL_MS = 60_000;
/** The time bound on unpublished writes of a file that stays open. */
const AUTO_PUBLISH_INTERVAL_MS = 30_000;

const MOUNT_FLAGS = {
  ...VOLUME_FLAGS,
  foreground: 'boolean',
  'read-only': 'boolean',
  writeback: 'boolean',
  'upload-delay': 'duration',
  snapshot: 'string',
  'allow-other': 'boolean',
  'cache-size': 'bytes',
  'max-dirty': 'bytes',
  readahead: 'bytes',
  grace: 'duration',
  'metrics-port': 'integer',
  'log-level': 'string',
} as const;

const MOUNT_USAGE = `strata mount <dir> [--foreground] [--read-only] [--writeback [--upload-delay <duration>]] [--snapshot <name>] [--allow-other] [--cache-size <bytes>] [--max-dirty <bytes>] [--readahead <bytes>] [--grace <duration>] [--metrics-port <port>] [--log-level debug|info|warn|error] ${VOLUME_USAGE}`;

/** `.stats` keeps one text this long, so a getattr and the open and reads after it agree on its size. */
const STATS_TEXT_TTL_MS = 1000;

interface MountInfo {
  pid: number;
  mountpoint: string;
}

export async function mount(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: MOUNT_USAGE, positionals: ['dir'], flags: MOUNT_FLAGS });
  const mountpoint = await realpath(resolve(positionals[0]!)).catch(() => {
    throw new UsageError(`mount point ${positionals[0]} does not exist`);
  });
  const logLevel = (flags['log-level'] as string | undefined) ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  const metricsPort = flags['metrics-port'] as number | undefined;
  if (metricsPort !== undefined && metricsPort > 65_535) throw new UsageError(`--metrics-port ${metricsPort} is not a TCP port (0-65535; 0 picks a free one)`);
  if (flags.writeback === true && (flags['read-only'] === true || flags.snapshot !== undefined)) {
    throw new UsageError('--writeback is for writing; it cannot go with --read-only or --snapshot');
  }
  if (flags['upload-delay'] !== undefined && flags.writeback !== true) throw new UsageError('--upload-delay applies to --writeback only');
  const maxDirtyBytes = flags['max-dirty'] as number | undefined;
  if (maxDirtyBytes !== undefined && maxDirtyBytes < BLOCK_BYTES) throw new UsageError(`--max-dirty must be at least ${BLOCK_BYTES / 1024 / 1024}M (one block), not ${maxDirtyBytes} bytes`);
  const options = volumeOptions(flags);
  await checkVolumeHome(options, { mayCreate: true });
  if (!flags.foreground) return detach(argv, volumePaths(options.home, options.volume).logFile);

  setLogLevel(logLevel);
  if (await recoverStaleMount(mountpoint)) log('warn', 'recovered a stale mount point left by a process that died', { mountpoint });
  const readOnly = flags['read-only'] === true || flags.snapshot !== undefined;
  const volume = await Volume.open({ ...options, readOnly, writeback: flags.writeback === true, uploadDelayMs: flags['upload-delay'] as number | undefined, readaheadBytes: flags.readahead as number | undefined, cacheBytes: flags['cache-size'] as number | undefined, maxDirtyBytes });
  const cleanups: Array<() => Promise<unknown>> = [() => volume.close()];
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => log('error', 'stopping failed', { cause: err instanceof Error ? err.message : String(err) }));
  };
  const paths = volume.paths;
  const startedAtMs = Date.now();
  let stopGc: () => Promise<void> = async () => undefined;
  let mounted: Awaited<ReturnType<typeof mountVolume>>;
  try {
    const snapshotVersion = flags.snapshot === undefined ? undefined : (await findPin(volume, flags.snapshot as string)).version;
    if (!readOnly) {
      const orphans = await volume.namespace.recoverOrphans();
      if (orphans.length > 0) log('info', 'retired files unlinked while open when the last mount stopped', { inodes: orphans });
      // We hold the volume's lock and have no write session yet: every staged object belongs to a
      // process that died before publishing it, so none needs the grace window.
      const staged = await cleanupStaged(volume, { graceMs: 0 });
      if (staged.deleted > 0) log('info', 'deleted staged objects a stopped mount uploaded but never published', { objects: staged.deleted });
    }
    watchVolume(volume, { startedAtMs });
    enableProcessMetrics();
    const ctx: OperationContext = { volume, mountpoint, startedAtMs, logFile: await logFileOfStderr(paths.logFile) };
    if (metricsPort !== undefined) {
      const metricsServer = await serveMetrics(metricsPort);
      cleanups.push(() => metricsServer.close());
      ctx.metricsUrl = metricsServer.url;
      log('info', 'serving metrics', { url: metricsServer.url });
    }
    const control = await serveControl(paths.socket, ctx);
    cleanups.push(async () => {
      control.close();
      await unlink(paths.socket).catch(() => undefined);
    });
    mounted = await mountVolume(volume, mountpoint, {
      readOnly,
      allowOther: flags['allow-other'] === true,
      snapshotVersion,
      kernelReadahead: flags.readahead !== 0,
      log: (message, fields) => log('error', message, fields),
      statsText: memoized(STATS_TEXT_TTL_MS, () => metricsText(volume)),
    });
    ctx.forgetCachedAttrs = (ino) => mounted.forgetCachedAttrs(ino);
    if (!readOnly) {
      stopGc = startGcWorker(volume, { graceMs: (flags.grace as number | undefined) ?? DEFAULT_GRACE_MS, intervalMs: GC_INTERVAL_MS, log: (message, fields) => log(/failed/.test(message) ? 'error' : 'info', message, fields) });
      const stopAutoPublish = volume.files.startAutoPublish(AUTO_PUBLISH_INTERVAL_MS, (ino, err) =>
        log('error', 'background publish failed', { ino, cause: err instanceof Error ? err.message : String(err) }),
      );
      cleanups.push(async () => stopAutoPublish());
    }
    const info: MountInfo = { pid: process.pid, mountpoint };
    await writeFile(paths.mountInfo, JSON.stringify(info) + '\n', { mode: 0o600 });
  } catch (err) {
    await cleanUp();
    throw err;
  }
  log('info', 'mounted', { mountpoint, volume: volume.name, backend: volume.store.description, readOnly, snapshot: flags.snapshot ?? null, logLevel });
  process.send?.({ ready: true });
  process.channel?.unref();

  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log('info', 'stopping', { signal });
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void mounted.unmountedElsewhere.then(() => {
      log('info', 'stopping: the mount point was unmounted from outside (fusermount -u or umount)', { mountpoint });
      done();
    });
  });
  const { released } = await mounted.unmount();
  await stopGc();
  await unlink(paths.mountInfo).catch(() => undefined);
  await cleanUp();
  log('info', 'unmounted', { mountpoint });
  // Everything is stopped and written; fuse-native still holds the event loop when its own unmount
  // could not run, and the process would otherwise live on, holding the volume's lock.
  if (!released) process.exit(0);
  return 0;
}

/** `text()` at most once per `ttlMs`; callers in between share the same text. */
function memoized(ttlMs: number, text: () => Promise<string>): () => Promise<string> {
  let cached: { atMs: number; text: Promise<string> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.atMs > ttlMs) {
      const pending = text();
      cached = { atMs: now, text: pending };
      pending.catch(() => (cached = undefined));
    }
    return cached.text;
  };
}

/** The volume's log file when this process's stderr is it (a detached mount), else undefined. */
async function logFileOfStderr(logFile: string): Promise<string | undefined> {
  const stderrPath = await realpath('/proc/self/fd/2').catch(() => undefined);
  const wanted = await realpath(logFile).catch(() => undefined);
  return stderrPath !== undefined && stderrPath === wanted ? logFile : undefined;
}

/** Starts `strata mount --foreground` detached and waits for it to say the mount is ready. */
async function detach(argv: string[], logFile: string): Promise<number> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(logFile, '..'), { recursive: true, mode: 0o700 });
  const logHandle = await open(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [process.argv[1]!, 'mount', ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', logHandle.fd, logHandle.fd, 'ipc'],
  });
  const outcome = await new Promise<string | null>((resolveOutcome) => {
    child.once('message', () => resolveOutcome(null));
    child.once('exit', (code) => resolveOutcome(`the mount process exited with status ${code}; see ${logFile}`));
  });
  await logHandle.close();
  if (outcome) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('\n');
    process.stderr.write(`strata mount: ${outcome}\n${tail}\n`);
    return 1;
  }
  child.disconnect();
  child.unref();
  process.stdout.write(`mounted (pid ${child.pid}); log: ${logFile}\n`);
  return 0;
}

export async function umount(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: 'strata umount <dir> [--home <dir>]', positionals: ['dir'], flags: { home: 'string' } });
  const mountpoint = resolve(positionals[0]!);
  const home = resolve((flags.home as string | undefined) ?? defaultHome());
  const owner = await findMountOwner(home, mountpoint);
  if (!owner) {
    if (await isFuseMounted(mountpoint)) {
      await runCommand('fusermount', ['-uz', mountpoint]);
      process.stdout.write(`detached ${mountpoint} (no live Strata process owned it)\n`);
      return 0;
    }
    throw new UsageError(`${mountpoint} is not a Strata mount under ${home}`);
  }
  process.kill(owner.pid, 'SIGTERM');
  for (let waitedMs = 0; ; waitedMs += 50) {
    if (!isAlive(owner.pid) && !(await isFuseMounted(mountpoint))) break;
    if (waitedMs > 120_000) throw new Error(`the mount process ${owner.pid} did not stop within 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`unmounted ${mountpoint}\n`);
  return 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function findMountOwner(home: string, mountpoint: string): Promise<MountInfo | undefined> {
  const volumes = await readdir(home).catch(() => [] as string[]);
  for (const volume of volumes) {
    const info = await readFile(volumePaths(home, volume).mountInfo, 'utf8').then((text) => JSON.parse(text) as MountInfo).catch(() => undefined);
    if (info && info.mountpoint === mountpoint && isAlive(info.pid)) return info;
  }
  return undefined;
}
