// What every command that works on a volume shares: the volume flags, turning them into
// VolumeOptions, and running an operation on the live mount (control socket) or on the volume itself.

import { resolve } from 'node:path';
import { callMount } from '../control/client.js';
import { runOperation } from '../control/operations.js';
import { defaultHome, volumePaths } from '../home.js';
import type { ObjectStoreConfig } from '../object/open.js';
import { Volume, type VolumeOptions } from '../volume.js';
import { UsageError, type FlagKind, type Parsed } from './args.js';

export const VOLUME_FLAGS: Record<string, FlagKind> = {
  home: 'string',
  volume: 'string',
  'object-backend': 'string',
  bucket: 'string',
  endpoint: 'string',
  region: 'string',
  prefix: 'string',
  'path-style': 'boolean',
};

export const VOLUME_USAGE = '[--volume <name>] [--home <dir>] [--object-backend file|s3|rustfs|minio --bucket <b> [--endpoint <url>] [--region <r>] [--prefix <p>] [--path-style]]';

const BACKENDS = ['file', 's3', 'rustfs', 'minio'] as const;

export function volumeOptions(flags: Parsed['flags']): VolumeOptions {
  const home = resolve((flags.home as string | undefined) ?? defaultHome());
  const volume = (flags.volume as string | undefined) ?? 'default';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(volume)) throw new UsageError(`volume name ${JSON.stringify(volume)} must be letters, digits, '.', '_' or '-'`);
  const backend = (flags['object-backend'] as string | undefined) ?? undefined;
  let objectStore: ObjectStoreConfig | undefined;
  if (backend !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--object-backend must be one of ${BACKENDS.join(', ')}, not ${JSON.stringify(backend)}`);
    if (backend === 'file') {
      objectStore = { backend: 'file', root: volumePaths(home, volume).objectsDir };
    } else {
      const bucket = flags.bucket as string | undefined;
      if (!bucket) throw new UsageError(`--object-backend ${backend} needs --bucket`);
      objectStore = {
        backend: backend as 's3' | 'rustfs' | 'minio',
        bucket,
        endpoint: flags.endpoint as string | undefined,
        region: flags.region as string | undefined,
        prefix: flags.prefix as string | undefined,
        forcePathStyle: flags['path-style'] === true ? true : undefined,
      };
    }
  } else if (flags.bucket !== undefined || flags.endpoint !== undefined) {
    throw new UsageError('--bucket and --endpoint go with --object-backend s3|rustfs|minio');
  }
  return { home, volume, objectStore };
}

/** Runs a named operation on the live mount if one serves this volume, else on the volume itself. */
export async function onVolume(flags: Parsed['flags'], op: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const options = volumeOptions(flags);
  const remote = await callMount(volumePaths(options.home, options.volume).socket, { op, args });
  if (remote) return remote.result;
  return withVolume(options, (volume) => runOperation({ volume }, op, args));
}

export async function withVolume<T>(options: VolumeOptions, work: (volume: Volume) => Promise<T>): Promise<T> {
  const volume = await Volume.open(options);
  try {
    return await work(volume);
  } finally {
    await volume.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
