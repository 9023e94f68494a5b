// The kernel's mount tables (/proc/mounts, /proc/self/mountinfo), read without a call into any mount.

import { readFile } from 'node:fs/promises';

/** A path as the mount tables write it: space, tab, newline and backslash as octal escapes (\040). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_escape, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The type of the file system mounted at `mountpoint` (a real path: the table resolves links), if any. */
export async function mountTypeAt(mountpoint: string): Promise<string | undefined> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ');
    if (point !== undefined && unescapeMountField(point) === mountpoint) return type;
  }
  return undefined;
}
