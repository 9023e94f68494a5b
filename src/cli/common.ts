// What every command that works on a volume shares: the volume flags, turning them into
// VolumeOptions, and running an operation on the live mount (control socket) or on the volume itself.

import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { callMount } from '../control/client.js';
import { runOperation, type ProgressReport } from '../control/operations.js';
import { defaultHome, volumePaths } from '../home.js';
import type { ObjectStoreConfig } from '../object/open.js';
import { Volume, type VolumeOptions } from '../volume.js';
import { UsageError, type FlagKind, type Parsed } from './args.js';
import { progressBar, type ProgressUnit } from './progress.js';

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
  }
  const s3Only = S3_FLAGS.filter((name) => flags[name] !== undefined);
  if (s3Only.length > 0 && (backend === undefined || backend === 'file')) {
    throw new UsageError(`${s3Only.map((name) => `--${name}`).join(', ')} go${s3Only.length === 1 ? 'es' : ''} with --object-backend s3|rustfs|minio`);
  }
  checkS3Values(flags);
  return { home, volume, objectStore };
}

const S3_FLAGS = ['bucket', 'endpoint', 'region', 'prefix', 'path-style'] as const;

function checkS3Values(flags: Parsed['flags']): void {
  const bucket = flags.bucket as string | undefined;
  if (bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UsageError(`--bucket ${JSON.stringify(bucket)} is not a bucket name (3-63 lower-case letters, digits, '.' and '-')`);
  }
  const endpoint = flags.endpoint as string | undefined;
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not an http:// or https:// URL`);
  }
  const region = flags.region as string | undefined;
  if (region !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(region)) throw new UsageError(`--region ${JSON.stringify(region)} is not a region name (like us-east-1)`);
  const prefix = flags.prefix as string | undefined;
  if (prefix !== undefined && (prefix.startsWith('/') || prefix.includes('\0') || prefix.split('/').slice(0, -1).some((part) => part === '' || part === '.' || part === '..'))) {
    throw new UsageError(`--prefix ${JSON.stringify(prefix)} must be relative, like strata/, without empty, . or .. parts`);
  }
}

/**
 * What a volume's folder may hold before its volume.json exists: Strata's own names (a detached
 * mount opens its log first; an objects folder may be a disk mounted there in advance).
 */
const BEFORE_CREATION = new Set(['strata.log', 'objects', 'meta', 'mount.json', 'control.sock']);

/**
 * Refuses a --home or --volume that names something other than a Strata volume: a file, or a
 * folder with other things in it (so `--home /etc` never writes into /etc/default). An absent or
 * empty folder is a new volume where the command creates one (`mayCreate`: mount, put), and an
 * error elsewhere.
 */
export async function checkVolumeHome(options: VolumeOptions, { mayCreate }: { mayCreate: boolean }): Promise<void> {
  const home = await stat(options.home).catch(() => undefined);
  if (home && !home.isDirectory()) throw new UsageError(`--home ${options.home} is not a folder`);
  const paths = volumePaths(options.home, options.volume);
  if (await stat(paths.configFile).then((info) => info.isFile(), () => false)) {
    // A volume whose metadata folder is gone must not quietly restart as an empty namespace over its objects.
    if (!(await stat(join(paths.metaDir, 'CURRENT')).then((info) => info.isFile(), () => false))) {
      throw new UsageError(`${paths.root} has a volume.json but no metadata database (${paths.metaDir}/CURRENT is missing); restore ${paths.metaDir}, or remove volume.json to start an empty volume there`);
    }
    return;
  }
  const root = await stat(paths.root).catch(() => undefined);
  if (root && !root.isDirectory()) throw new UsageError(`${paths.root} is a file, not a Strata volume; choose another --home or --volume`);
  const entries = root ? await readdir(paths.root) : [];
  if (entries.some((name) => !BEFORE_CREATION.has(name))) {
    throw new UsageError(`${paths.root} is not a Strata volume (it has no volume.json but holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); choose another --home or --volume`);
  }
  if (!mayCreate) throw new UsageError(`there is no Strata volume ${JSON.stringify(options.volume)} in ${options.home}; strata mount or strata put creates one`);
}

/**
 * Runs a named operation on the live mount if one serves this volume, else on the volume itself.
 * `progress` gets the operation's progress either way (streamed over the control socket from a mount).
 */
export async function onVolume(flags: Parsed['flags'], op: string, args: Record<string, unknown> = {}, progress?: ProgressReport): Promise<unknown> {
  const options = volumeOptions(flags);
  await checkVolumeHome(options, { mayCreate: op === 'put' });
  const remote = await callMount(volumePaths(options.home, options.volume).socket, { op, args }, progress);
  if (remote) return remote.result;
  return withVolume(options, (volume) => runOperation({ volume, progress }, op, args));
}

/** Runs `work` with a progress bar (drawn only on a terminal), and always takes the bar down. */
export async function withProgress<T>(label: string, unit: ProgressUnit, minTotal: number, work: (report: ProgressReport | undefined) => Promise<T>): Promise<T> {
  const bar = progressBar(label, unit, { minTotal });
  try {
    return await work(bar.report);
  } finally {
    bar.stop();
  }
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
