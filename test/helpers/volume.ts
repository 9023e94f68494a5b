// Opens a throwaway volume for engine tests: a fresh home folder, real RocksDB, and either the file
// object backend or s3rver (one s3rver per test process, started on first use; each volume gets its
// own key prefix in the shared bucket). `reopen` closes and opens the same volume again, as a
// restarted mount would.

import { randomBytes } from 'node:crypto';
import type { ObjectStoreConfig } from '../../src/object/open.js';
import { Volume, type VolumeOptions } from '../../src/volume.js';
import { startS3rver, type RunningS3rver } from './s3rver.js';
import { makeTempDir, removeDir } from './tmp.js';

export type TestBackend = 'file' | 's3rver';

export type TestVolumeOptions = Omit<VolumeOptions, 'home' | 'volume' | 'objectStore'> & { volume?: string };

export interface TestVolume {
  /** the open volume; replaced by `reopen` */
  volume: Volume;
  home: string;
  /** Closes the volume (publishing open bodies) and opens it again with the same options, or `changes`. */
  reopen(changes?: Partial<TestVolumeOptions>): Promise<Volume>;
  /** Closes the volume if it is open and removes its home folder. */
  cleanup(): Promise<void>;
}

let s3rver: Promise<RunningS3rver> | undefined;

/** Stops the s3rver this process started for test volumes, if any; the next s3rver volume starts a new one. */
export async function stopTestS3rver(): Promise<void> {
  const running = s3rver;
  s3rver = undefined;
  if (running) await (await running).stop();
}

async function objectStoreFor(backend: TestBackend, home: string): Promise<ObjectStoreConfig> {
  if (backend === 'file') return { backend: 'file', root: `${home}/objects` };
  s3rver ??= startS3rver();
  const server = await s3rver;
  return {
    backend: 's3',
    bucket: server.bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    prefix: `vol-${randomBytes(6).toString('hex')}/`,
    credentials: server.credentials,
  };
}

export async function openTestVolume(backend: TestBackend, options: TestVolumeOptions = {}): Promise<TestVolume> {
  const home = await makeTempDir('volume');
  const objectStore = await objectStoreFor(backend, home);
  let current = { volume: 'test', ...options };
  let closed = false;
  const open = () => Volume.open({ ...current, home, objectStore });
  const handle: TestVolume = {
    volume: await open().catch(async (err: unknown) => {
      await removeDir(home);
      throw err;
    }),
    home,
    async reopen(changes = {}) {
      if (!closed) await handle.volume.close();
      closed = true;
      current = { ...current, ...changes };
      handle.volume = await open();
      closed = false;
      return handle.volume;
    },
    async cleanup() {
      if (!closed) {
        closed = true;
        await handle.volume.close().catch(() => undefined);
      }
      await removeDir(home);
    },
  };
  return handle;
}
