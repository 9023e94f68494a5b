// Checks rocksdb_write.node against a throwaway database: batches it writes are read back by the
// rocksdb package, and survive a reopen. Prints one line; exits 1 on a wrong result.
//   node scripts/rocksdb-write/check.mjs <path of rocksdb_write.node>

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const RocksDB = require('rocksdb');
const binding = require('rocksdb/binding.js');
const { writeBatchNow } = require(process.argv[2]);

const call = (fn) => new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
const dir = mkdtempSync(join(tmpdir(), 'strata-rocksdb-write-'));
try {
  let db = RocksDB(dir);
  await call((cb) => db.open({ createIfMissing: true }, cb));
  const batch = binding.batch_init(db.context);
  const count = 100;
  for (let i = 0; i < count; i++) {
    binding.batch_clear(batch);
    binding.batch_put(batch, Buffer.from(`key-${i}`), Buffer.alloc(1000 + i, i));
    if (i > 0) binding.batch_del(batch, Buffer.from(`key-${i - 1}`));
    const code = writeBatchNow(batch);
    if (code !== 0) throw new Error(`write ${i} returned status ${code}`);
  }
  await call((cb) => db.close(cb));
  db = RocksDB(dir);
  await call((cb) => db.open({}, cb));
  const last = await call((cb) => db.get(Buffer.from(`key-${count - 1}`), { asBuffer: true }, cb));
  if (!last.equals(Buffer.alloc(1000 + count - 1, count - 1))) throw new Error('the last batch read back wrong');
  const deleted = await call((cb) => db.get(Buffer.from(`key-${count - 2}`), { asBuffer: true }, cb)).then(() => false, (err) => /NotFound/.test(err.message));
  if (!deleted) throw new Error('a delete in a batch did not take');
  await call((cb) => db.close(cb));
  console.log(`${count} batches written on the calling thread and read back after a reopen`);
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
