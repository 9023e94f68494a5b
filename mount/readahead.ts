// The kernel's readahead window for a FUSE mount. It starts at 128 KiB, so a sequential reader has
// one 128 KiB request in flight at a time and waits a round trip for each. A wider window keeps
// more in flight, which the multi-threaded libfuse loop hands to us together. With 1 MiB requests
// (request-size.ts), a cold 1 GiB read (.probe/wide.sh) ran 1.4-1.7 GB/s with 512 KiB or 1 MiB
// windows and 0.9-1.1 GB/s with 2 or 4 MiB ones, whose requests arrive too far out of order for
// the block cache to drop what a sequential reader has passed (file-body.ts).

import { readFile, writeFile } from 'node:fs/promises';
import { unescapeMountField } from './proc-mounts.js';

export const DEFAULT_READAHEAD_KIB = 1024;

/** The `major:minor` device of the mount at `mountpoint`, from /proc/self/mountinfo (no call into the mount). */
async function deviceOf(mountpoint: string): Promise<string | undefined> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  let device: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [, , majorMinor, , point] = line.split(' ');
    if (point !== undefined && unescapeMountField(point) === mountpoint) device = majorMinor;
  }
  return device;
}

/** Sets the mount's readahead window; the caller logs a failure (an unprivileged user may not write sysfs). */
export async function setReadahead(mountpoint: string, kib: number): Promise<void> {
  const device = await deviceOf(mountpoint);
  if (!device) throw new Error(`no mount at ${mountpoint} in /proc/self/mountinfo`);
  await writeFile(`/sys/class/bdi/${device}/read_ahead_kb`, `${kib}\n`);
}
