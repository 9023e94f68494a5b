// What reads leave in the block cache: a sequential reader drops the blocks it has passed, so a long
// read holds only its readahead window (and fetches every block once); a random reader keeps what
// it fetched, so coming back to a block costs no second fetch.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT_INO } from '../../src/meta/records.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';

const MiB = 1024 * 1024;
const FILE_BYTES = 48 * MiB;
const BLOCKS = FILE_BYTES / (4 * MiB);
const caller = { uid: 0, gid: 0 };

/** Bytes that differ at every 4-byte step, so a misplaced piece shows. */
function pattern(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) out.writeUInt32LE(i, i);
  return out;
}

const test = suite<{ tv?: TestVolume; ino?: number; expected?: Buffer }>('block cache under reads', {});

test.before.each(async (ctx) => {
  ctx.tv = await openTestVolume('file', { cacheBytes: 512 * MiB, readaheadBytes: 8 * MiB });
  const volume = ctx.tv.volume;
  const { ino } = await volume.namespace.create(ROOT_INO, 'big', 0o644, caller);
  ctx.expected = pattern(FILE_BYTES);
  const body = await volume.files.acquire(ino);
  for (let offset = 0; offset < FILE_BYTES; offset += MiB) body.write(offset, ctx.expected.subarray(offset, offset + MiB));
  await volume.files.release(ino);
  ctx.ino = ino;
  // A fresh volume: nothing of the file is cached.
  await ctx.tv.reopen();
});
test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('a sequential read holds only its readahead window in the cache and fetches each block once', async (ctx) => {
  const volume = ctx.tv!.volume;
  const body = await volume.files.acquire(ctx.ino!);
  const out = Buffer.alloc(128 * 1024);
  let largestHeldBytes = 0;
  for (let offset = 0; offset < FILE_BYTES; offset += out.length) {
    assert.is(await body.readInto(out, offset, out.length), out.length);
    assert.ok(out.equals(ctx.expected!.subarray(offset, offset + out.length)), `bytes at ${offset}`);
    largestHeldBytes = Math.max(largestHeldBytes, volume.cache.currentStats().bytes);
  }
  await volume.files.release(ctx.ino!);
  const stats = volume.cache.currentStats();
  assert.is(stats.misses, BLOCKS, 'every block fetched once');
  // The 8 MiB window, the 2 MiB the kernel may reorder, and the block being read.
  assert.ok(largestHeldBytes <= 16 * MiB, `held ${largestHeldBytes / MiB} MiB at most`);
  assert.ok(stats.bytes <= 16 * MiB, `held ${stats.bytes / MiB} MiB at the end`);
});

test('a random reader keeps the blocks it fetched: coming back costs no second fetch', async (ctx) => {
  const volume = ctx.tv!.volume;
  const body = await volume.files.acquire(ctx.ino!);
  const out = Buffer.alloc(4096);
  // Far apart, then back over the same places: never two reads within the reorder distance in a row.
  const blocks = [0, 6, 1, 9, 3, 11, 5, 8, 2, 10, 4, 7];
  for (let round = 0; round < 3; round++) {
    for (const block of blocks) {
      const offset = block * 4 * MiB + round * 100_000;
      assert.is(await body.readInto(out, offset, out.length), out.length);
      assert.ok(out.equals(ctx.expected!.subarray(offset, offset + out.length)), `bytes at ${offset}`);
    }
  }
  await volume.files.release(ctx.ino!);
  const stats = volume.cache.currentStats();
  assert.is(stats.misses, BLOCKS, 'each block fetched once over three rounds');
  assert.is(stats.bytes, FILE_BYTES, 'and all of them still cached');
});

test.run();
