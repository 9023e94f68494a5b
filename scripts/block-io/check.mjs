// Checks block_io.node: digests of known inputs, the same digest from both digest calls, and a
// readObject of a file (with the digest its bytes have), of a folder, of a file too large for its
// buffer and of a missing path; syncs of paths that exist and do not, and of a file system.
// Prints one line; exits 1 on a wrong result.
//   node scripts/block-io/check.mjs <path of block_io.node>

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { digest, digestAsync, readObject, syncPaths, syncFileSystem } = require(process.argv[2]);
const digestInPool = (bytes) => new Promise((resolve, reject) => digestAsync(bytes, (err, d) => (err ? reject(err) : resolve(d))));

/** A deterministic body of `length` bytes. */
const pattern = (length) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
// XXH64 with seed 0, from the reference implementation (xxhash-wasm, the digest Strata used before).
const KNOWN = [
  ['', 'xxh64:ef46db3751d8e999'],
  ['abc', 'xxh64:44bc2cf5ad770999'],
];
const expect = (what, actual, wanted) => {
  if (actual !== wanted) throw new Error(`${what}: got ${actual}, expected ${wanted}`);
};

const dir = mkdtempSync(join(tmpdir(), 'strata-block-io-'));
try {
  for (const [text, wanted] of KNOWN) {
    expect(`digest of "${text}"`, digest(Buffer.from(text)), wanted);
    expect(`digestAsync of "${text}"`, await digestInPool(Buffer.from(text)), wanted);
  }
  const body = pattern(4 * 1024 * 1024 + 13);
  const whole = await digestInPool(body);
  expect('digest of a large body', digest(body), whole);
  const file = join(dir, 'object');
  writeFileSync(file, body);
  const read = (path, into) => new Promise((resolve, reject) => readObject(path, into, (err, bytesRead, size, d) => (err ? reject(err) : resolve({ bytesRead, size, d }))));
  const into = Buffer.alloc(body.length + 100);
  const got = await read(file, into);
  expect('readObject', `${got.bytesRead} ${got.size} ${got.d} ${into.subarray(0, body.length).equals(body)}`, `${body.length} ${body.length} ${whole} true`);
  const tooSmall = await read(file, Buffer.alloc(10));
  expect('readObject into a small buffer', `${tooSmall.bytesRead} ${tooSmall.size} ${tooSmall.d}`, `0 ${body.length} null`);
  const folder = await read(dir, into);
  expect('readObject of a folder', `${folder.bytesRead} ${folder.size}`, '0 -1');
  const missing = await read(join(dir, 'missing'), into).then(() => 'read', (err) => err.code);
  expect('readObject of a missing file', missing, 'ENOENT');
  const synced = (call) => new Promise((resolve) => call((err) => resolve(err ? `${err.code} ${err.path}` : 'ok')));
  expect('syncPaths of a file and its folder', await synced((cb) => syncPaths([file], [dir], cb)), 'ok');
  expect('syncPaths of a missing file', await synced((cb) => syncPaths([file, join(dir, 'missing')], [dir], cb)), `ENOENT ${join(dir, 'missing')}`);
  expect('syncPaths of a file as a folder', await synced((cb) => syncPaths([], [file], cb)), `ENOTDIR ${file}`);
  expect('syncFileSystem', await synced((cb) => syncFileSystem(dir, cb)), 'ok');
  console.log(`block_io works (xxh64 of ${body.length} bytes: ${whole})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
