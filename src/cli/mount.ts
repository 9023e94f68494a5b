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
import { log } from '../log.js';
import { startGcWorker } from '../gc/run.js';
import { findPin } from '../snapshot/pins.js';
import { Volume } from '../volume.js';
import { isFuseMounted, mountVolume, recoverStaleMount } from '../../mount/run.js';
import { parseArgs, UsageError } from './args.js';
import { VOLUME_FLAGS, VOLUME_USAGE, volumeOptions } from './common.js';

const runCommand = promisify(execFile);
const DEFAULT_GRACE_MS = 3_600_000;
const GC_INTERVAL_MS = 60_000;

const MOUNT_FLAGS = {
  ...VOLUME_FLAGS,
  foreground: 'boolean',
  'read-only': 'boolean',
  snapshot: 'string',
  'allow-other': 'boolean',
  'cache-size': 'bytes',
  grace: 'duration',
} as const;

const MOUNT_USAGE = `strata mount <dir> [--foreground] [--read-only] [--snapshot <name>] [--allow-other] [--cache-size <bytes>] [--grace <duration>] ${VOLUME_USAGE}`;

interface MountInfo {
  pid: number;
  mountpoint: string;
}

export async function mount(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: MOUNT_USAGE, positionals: ['dir'], flags: MOUNT_FLAGS });
  const mountpoint = await realpath(resolve(positionals[0]!)).catch(() => {
    throw new UsageError(`mount point ${positionals[0]} does not exist`);
  });
  const options = volumeOptions(flags);
  if (!flags.foreground) return detach(argv, volumePaths(options.home, options.volume).logFile);

  if (await recoverStaleMount(mountpoint)) log('warn', 'recovered a stale mount point left by a process that died', { mountpoint });
  const readOnly = flags['read-only'] === true || flags.snapshot !== undefined;
  const volume = await Volume.open({ ...options, readOnly, cacheBytes: flags['cache-size'] as number | undefined });
  const paths = volume.paths;
  const snapshotVersion = flags.snapshot === undefined ? undefined : (await findPin(volume, flags.snapshot as string)).version;
  if (!readOnly) {
    const orphans = await volume.namespace.recoverOrphans();
    if (orphans.length > 0) log('info', 'retired files unlinked while open when the last mount stopped', { inodes: orphans });
  }
  const startedAtMs = Date.now();
  const control = await serveControl(paths.socket, { volume, mountpoint, startedAtMs });
  const mounted = await mountVolume(volume, mountpoint, {
    readOnly,
    allowOther: flags['allow-other'] === true,
    snapshotVersion,
    log: (message, fields) => log('error', message, fields),
    statsText: async () => JSON.stringify({ volume: volume.name, version: volume.kv.currentVersion(), cache: volume.cache.currentStats(), uploadsInFlight: volume.bodyContext.uploads.inFlight }, null, 2) + '\n',
  });
  const stopGc = readOnly
    ? async () => undefined
    : startGcWorker(volume, { graceMs: (flags.grace as number | undefined) ?? DEFAULT_GRACE_MS, intervalMs: GC_INTERVAL_MS, log: (message, fields) => log('info', message, fields) });
  const info: MountInfo = { pid: process.pid, mountpoint };
  await writeFile(paths.mountInfo, JSON.stringify(info) + '\n', { mode: 0o600 });
  log('info', 'mounted', { mountpoint, volume: volume.name, backend: volume.store.description, readOnly, snapshot: flags.snapshot ?? null });
  process.send?.({ ready: true });
  process.channel?.unref();

  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log('info', 'stopping', { signal });
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  try {
    await mounted.unmount();
  } catch (err) {
    log('error', 'unmount failed; detaching lazily', { error: (err as Error).message });
    await runCommand('fusermount', ['-uz', mountpoint]).catch(() => undefined);
  }
  await stopGc();
  control.close();
  await unlink(paths.socket).catch(() => undefined);
  await unlink(paths.mountInfo).catch(() => undefined);
  await volume.close();
  log('info', 'unmounted', { mountpoint });
  return 0;
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
