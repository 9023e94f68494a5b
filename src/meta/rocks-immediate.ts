// Writes RocksDB batches on the calling thread, through the addon scripts/rocksdb-write builds.
// The rocksdb package writes only through libuv's thread pool: for one small commit, such as a
// small file's publish, that is a wake-up of a pool thread and one of the main thread on the way
// back, 45-75 us of waiting against 13 us for the write itself (.probe/rwbench.mjs). The write is
// an append to the write-ahead log in the page cache and a memtable insert, and RocksDB refuses
// (`no_slowdown`) rather than waits out a write stall, so the event loop is held for microseconds.
// Writes that must reach the disk (sync) still go through the pool. VersionedKV makes one write at
// a time, so one made here never queues in RocksDB's write group behind a pool thread's fsync.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Mutation } from './kv.js';

/** Where scripts/rocksdb-write/build.mjs puts the addon, from dist/src/meta. */
export const IMMEDIATE_WRITE_ADDON = fileURLToPath(new URL('../../../scripts/rocksdb-write/build/Release/rocksdb_write.node', import.meta.url));
const ADDON_LAYOUT = 'rocksdb@5.2.1';

interface Addon {
  /** 0 when written, else RocksDB's status code * 256 + subcode: nothing was written then. */
  writeBatchNow(batch: unknown): number;
  packageLayout: string;
}

/** The rocksdb package's native batch calls (its binding.cc), which run on the calling thread. */
interface PackageBinding {
  batch_init(database: unknown): unknown;
  batch_put(batch: unknown, key: Buffer, value: Buffer): void;
  batch_del(batch: unknown, key: Buffer): void;
  batch_clear(batch: unknown): void;
}

type Support = { addon: Addon; binding: PackageBinding } | { unavailable: string };

const require = createRequire(import.meta.url);
let support: Support | undefined;

/** The addon and the package binding, or why they cannot be used; loaded once per process. */
export function immediateWriteSupport(): Support {
  if (support) return support;
  try {
    const addon = require(IMMEDIATE_WRITE_ADDON) as Addon;
    const { version } = require('rocksdb/package.json') as { version: string };
    support =
      addon.packageLayout === `rocksdb@${version}` && addon.packageLayout === ADDON_LAYOUT
        ? { addon, binding: require('rocksdb/binding.js') as PackageBinding }
        : { unavailable: `the addon is built for ${addon.packageLayout}, and rocksdb ${version} is installed` };
  } catch (err) {
    support = { unavailable: `${IMMEDIATE_WRITE_ADDON} does not load (${(err as Error).message}); run node scripts/rocksdb-write/build.mjs` };
  }
  return support;
}

export interface ImmediateWriter {
  /** Writes the batch now; false when RocksDB refused it (a stall, or an error), and nothing was written. */
  write(mutations: Mutation[]): boolean;
}

/** A writer for the database whose package context is `database`, or null when the addon cannot be used. */
export function immediateWriterFor(database: unknown): ImmediateWriter | null {
  const loaded = immediateWriteSupport();
  if ('unavailable' in loaded) return null;
  const { addon, binding } = loaded;
  // One batch, cleared before each write: a write runs start to end on this thread.
  const batch = binding.batch_init(database);
  return {
    write(mutations) {
      binding.batch_clear(batch);
      for (const m of mutations) {
        if (m.type === 'put') binding.batch_put(batch, m.key, m.value);
        else binding.batch_del(batch, m.key);
      }
      return addon.writeBatchNow(batch) === 0;
    },
  };
}
