// Mounts a volume with fuse-native and keeps it until unmount: kernel options, the caller's
// identity for each operation, and a clean stop that publishes every open write first.

import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';
import type { Caller } from '../src/meta/namespace.js';
import type { Volume } from '../src/volume.js';
import { makeOperations } from './operations.js';
import { callerContext } from './caller.js';
import { mountTypeAt } from './proc-mounts.js';
import { watchSession } from './session-watch.js';
import { DEFAULT_READAHEAD_KIB, setReadahead } from './readahead.js';
import { REQUEST_BYTES, REQUEST_PAGES } from './request-size.js';

const run = promisify(execFile);

export interface MountOptions {
  readOnly: boolean;
  allowOther: boolean;
  snapshotVersion?: number;
  /** widen the kernel's readahead window (off when Strata's own readahead is off) */
  kernelReadahead: boolean;
  log: (message: string, fields?: object) => void;
  statsText: () => Promise<string>;
}

export interface MountedVolume {
  mountpoint: string;
  /**
   * Resolves once the FUSE session ended though this process was not asked to stop: `fusermount -u`
   * or `umount` from outside (see session-watch.ts). A FUSE daemon ends with its session.
   */
  unmountedElsewhere: Promise<void>;
  /**
   * Publishes open writes and unmounts. Resolves with whether fuse-native let go of the event loop:
   * it does not when its unmount failed (the mount was already gone, or busy and detached lazily),
   * and then only an explicit exit ends the process.
   */
  unmount(): Promise<{ released: boolean }>;
  /** Makes the kernel drop the attributes it caches of `ino`, changed by something other than this mount's handlers (`strata put`). */
  forgetCachedAttrs(ino: number): void;
}

/** Whether the kernel lists a FUSE mount at `mountpoint`. */
export async function isFuseMounted(mountpoint: string): Promise<boolean> {
  return (await mountTypeAt(mountpoint))?.startsWith('fuse') ?? false;
}

/** How long a FUSE daemon may take to answer statfs before the mount point counts as hung. */
const LIVENESS_TIMEOUT_MS = 5000;

/**
 * Detaches a mount point whose process died (ENOTCONN); returns whether one was found. The probe is
 * statfs, which the kernel always sends to the daemon: a stat could be answered from the kernel's
 * attribute cache for a second after the daemon died, and look alive.
 */
export async function recoverStaleMount(mountpoint: string): Promise<boolean> {
  if (!(await isFuseMounted(mountpoint))) return false;
  const probe = statfs(mountpoint).then(() => 'alive' as const, (err: NodeJS.ErrnoException) => (err.code === 'ENOTCONN' ? 'dead' as const : 'alive' as const));
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), LIVENESS_TIMEOUT_MS)));
  const state = await Promise.race([probe, hung]).finally(() => clearTimeout(timer));
  if (state === 'hung') throw new Error(`${mountpoint} is a FUSE mount whose process does not answer; detach it with fusermount -uz ${mountpoint}`);
  if (state === 'alive') throw new Error(`${mountpoint} is already a live FUSE mount; unmount it first (strata umount ${mountpoint})`);
  await run('fusermount', ['-uz', mountpoint]).catch(() => run('umount', ['-l', mountpoint]));
  return true;
}

export async function mountVolume(volume: Volume, mountpoint: string, options: MountOptions): Promise<MountedVolume> {
  const caller = callerContext();
  // The link handler needs the mounted Fuse, which needs the handlers first.
  let mounted: Fuse | undefined;
  const operations = makeOperations(volume, {
    readOnly: options.readOnly,
    snapshotVersion: options.snapshotVersion,
    callerOf: (): Caller => caller.current(),
    log: options.log,
    statsText: options.statsText,
    forgetCachedAttrs: (ino) => mounted?.forgetCachedAttrs(ino),
  });
  // fuse-native joins options into one -o string; kernel options it has no setting for ride on fsname.
  const kernelOptions = ['strata', 'big_writes', `max_write=${REQUEST_BYTES}`, 'use_ino', 'hard_remove', 'subtype=strata'];
  if (options.readOnly || options.snapshotVersion !== undefined) kernelOptions.push('ro');
  // The adapter answers with `(errno, ...values)` replies typed loosely; fuse-native checks nothing more.
  const fuse = new Fuse(mountpoint, caller.wrap(operations) as unknown as Fuse.Operations, {
    force: true,
    mkdir: false,
    timeout: false,
    maxPages: REQUEST_PAGES,
    defaultPermissions: true,
    allowOther: options.allowOther,
    fsname: kernelOptions.join(','),
    // Each path is its own kernel inode under libfuse's path API: what may be cached is decided per
    // reply (mount/stat.ts); this is the timeout of everything else.
    attrTimeout: '0',
    entryTimeout: '1',
  });
  mounted = fuse;
  // The kernel asks for security.capability before every write, `ls -l` for security.selinux of every
  // entry; while no inode can have one, the FUSE thread answers without a trip through JS. The first
  // one set turns that off for its name before its commit.
  const possible = await volume.namespace.watchedXattrsPossible((name) => Fuse.setAbsentXattr(name, false));
  for (const [name, present] of possible) Fuse.setAbsentXattr(name, !present);
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  if (options.kernelReadahead) {
    await setReadahead(mountpoint, DEFAULT_READAHEAD_KIB).catch((err: unknown) =>
      options.log('could not widen the kernel readahead window; sequential reads will be slower', { cause: err instanceof Error ? err.message : String(err) }),
    );
  }
  const watcher = await watchSession(mountpoint, () => operations.handles.size > 0);
  let stopping: Promise<{ released: boolean }> | undefined;
  return {
    mountpoint,
    unmountedElsewhere: watcher.ended,
    forgetCachedAttrs: (ino) => fuse.forgetCachedAttrs(ino),
    unmount: () =>
      (stopping ??= (async () => {
        watcher.stop();
        await volume.files.publishAll(true);
        if (!(await isFuseMounted(mountpoint))) return { released: false };
        try {
          await new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
          return { released: true };
        } catch (err) {
          options.log('unmount failed; detaching lazily', { mountpoint, cause: err instanceof Error ? err.message : String(err) });
          await run('fusermount', ['-uz', mountpoint]).catch(() => run('umount', ['-l', mountpoint])).catch(() => undefined);
          return { released: false };
        }
      })()),
  };
}
