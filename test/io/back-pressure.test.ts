// The dirty cap (`maxDirtyBytes`, `strata mount --max-dirty`): a writer that follows the write
// path's rule (wait while `mustDrain`) never has much more than the cap sealed and not yet
// uploaded, and what it wrote reads back whole after publish.

import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT_INO } from '../../src/meta/records.js';
import { DEFAULT_MAX_DIRTY_BYTES } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';

const MiB = 1024 * 1024;
const caller = { uid: 0, gid: 0 };
const WRITE_BYTES = MiB;
const FILE_BYTES = 64 * MiB;

interface Run {
  /** the most bytes held (sealed, waiting for or in upload) right after any write */
  peakHeld: number;
  /** how many writes found the cap passed and waited */
  waits: number;
  limit: number;
}

/** Writes `data` in 1 MiB calls the way the FUSE write handler does, and publishes. */
async function writeLikeTheMount(tv: TestVolume, name: string, data: Buffer): Promise<Run> {
  const { volume } = tv;
  const uploads = volume.bodyContext.uploads;
  const { ino } = await volume.namespace.create(ROOT_INO, name, 0o644, caller);
  const body = await volume.files.acquire(ino);
  const run: Run = { peakHeld: 0, waits: 0, limit: uploads.limitBytes };
  for (let offset = 0; offset < data.length; offset += WRITE_BYTES) {
    body.write(offset, data.subarray(offset, offset + WRITE_BYTES));
    run.peakHeld = Math.max(run.peakHeld, uploads.bytesHeld);
    if (body.mustDrain) {
      run.waits++;
      await body.drain();
      assert.ok(uploads.bytesHeld <= run.limit, `after a wait ${uploads.bytesHeld} bytes are held, over the ${run.limit} cap`);
    }
  }
  await volume.files.release(ino);
  const inode = await volume.namespace.getattr(ino);
  const reader = await volume.files.acquire(ino);
  try {
    assert.ok((await reader.read(0, inode.sizeBytes)).equals(data), `${name} reads back what was written`);
  } finally {
    await volume.files.release(ino);
  }
  return run;
}

const test = suite<{ tv?: TestVolume }>('dirty cap', {});

test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('an 8 MiB cap makes a 64 MiB writer wait, and holds it within one block of the cap', async (ctx) => {
  ctx.tv = await openTestVolume('file', { maxDirtyBytes: 8 * MiB });
  const blockBytes = ctx.tv.volume.bodyContext.blockBytes;
  const run = await writeLikeTheMount(ctx.tv, 'capped', randomBytes(FILE_BYTES));
  assert.is(run.limit, 8 * MiB);
  assert.ok(run.waits > 0, 'the writer had to wait for uploads');
  // A write starts under the cap and seals at most one block of 1 MiB writes.
  assert.ok(run.peakHeld <= run.limit + blockBytes, `peak ${run.peakHeld} bytes held, cap ${run.limit}`);
});

test('with the default cap the same writer never waits', async (ctx) => {
  ctx.tv = await openTestVolume('file');
  const run = await writeLikeTheMount(ctx.tv, 'uncapped', randomBytes(FILE_BYTES));
  assert.is(run.limit, DEFAULT_MAX_DIRTY_BYTES);
  assert.is(run.waits, 0);
  assert.ok(run.peakHeld > 8 * MiB, `without a low cap more than 8 MiB piles up (peak ${run.peakHeld})`);
});

test.run();
