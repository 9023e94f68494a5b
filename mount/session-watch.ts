// Notices that a mount's FUSE session ended without this process asking: `fusermount -u` or `umount`
// from outside. libfuse closes the session's /dev/fuse descriptor when the kernel ends the
// connection, which after a lazy unmount (`fusermount -uz`) is only once nothing uses the mount
// any more: until then the mount keeps serving the files still open through it.

import { readdir, readlink } from 'node:fs/promises';
import { mountTypeAt } from './proc-mounts.js';

/** How often the watcher looks. */
const SESSION_WATCH_INTERVAL_MS = 1000;

/** Whether this process's descriptor `fd` is open on /dev/fuse. */
function isFuseDevice(fd: number): Promise<boolean> {
  return readlink(`/proc/self/fd/${fd}`).then((target) => target === '/dev/fuse', () => false);
}

/** The descriptors this process holds on /dev/fuse. */
async function fuseDeviceFds(): Promise<number[]> {
  const fds = (await readdir('/proc/self/fd')).map(Number);
  const open = await Promise.all(fds.map(isFuseDevice));
  return fds.filter((_fd, i) => open[i]);
}

export interface SessionWatch {
  /** resolves once the session ended; never, after `stop` */
  ended: Promise<void>;
  stop(): void;
}

/**
 * Starts watching the session just mounted at `mountpoint`: it has ended once its /dev/fuse
 * descriptor is closed. Should none be found, once the kernel no longer lists the mount and
 * `anythingOpen` says no handle is left.
 */
export async function watchSession(mountpoint: string, anythingOpen: () => boolean): Promise<SessionWatch> {
  const sessionFds = await fuseDeviceFds().catch(() => [] as number[]);
  const ended =
    sessionFds.length > 0
      ? async () => !(await Promise.all(sessionFds.map(isFuseDevice))).includes(true)
      : async () => (await mountTypeAt(mountpoint)) === undefined && !anythingOpen();
  let timer: NodeJS.Timeout | undefined;
  const endedPromise = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      ended().then(
        (over) => {
          if (!over || timer === undefined) return;
          clearInterval(timer);
          timer = undefined;
          resolve();
        },
        () => undefined,
      );
    }, SESSION_WATCH_INTERVAL_MS);
    timer.unref();
  });
  return {
    ended: endedPromise,
    stop: () => {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
