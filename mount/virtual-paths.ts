// Paths that are not plain namespace paths: /.snapshots (the pins, listed), /.snapshots/<name>/...
// (the namespace as of that pin, read-only) and /.stats (metrics as text). Neither appears in the
// root's listing, so cp -a, rsync -a, du and find of the mount never walk into them.

import { splitPath } from '../src/meta/namespace.js';

export const SNAPSHOTS_DIR = '.snapshots';
export const STATS_FILE = '.stats';

export type VirtualTarget =
  | { kind: 'live'; path: string; atVersion?: undefined }
  | { kind: 'snapshot'; path: string; atVersion: number }
  | { kind: 'snapshots-root' }
  | { kind: 'stats' };

export async function resolveVirtual(
  path: string,
  mountedVersion: number | undefined,
  findPin: (name: string) => Promise<{ version: number }>,
): Promise<VirtualTarget> {
  if (mountedVersion !== undefined) return { kind: 'snapshot', path, atVersion: mountedVersion };
  const parts = splitPath(path);
  if (parts[0] === STATS_FILE && parts.length === 1) return { kind: 'stats' };
  if (parts[0] !== SNAPSHOTS_DIR) return { kind: 'live', path };
  if (parts.length === 1) return { kind: 'snapshots-root' };
  const pin = await findPin(parts[1]!);
  return { kind: 'snapshot', path: '/' + parts.slice(2).join('/'), atVersion: pin.version };
}

/** Whether resolveVirtual would answer `live` with the path as it is, which it does at once. */
export function isPlainLivePath(path: string, mountedVersion: number | undefined): boolean {
  if (mountedVersion !== undefined) return false;
  const first = splitPath(path)[0];
  return first !== STATS_FILE && first !== SNAPSHOTS_DIR;
}
