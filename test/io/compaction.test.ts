import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fsck } from '../../src/gc/fsck.js';
import { collectObjects } from '../../src/gc/object-gc.js';
import { MAX_SLICES_PER_CHUNK } from '../../src/io/file-body.js';
import { ROOT_INO } from '../../src/meta/records.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';

const test = suite('compaction');
let tv: TestVolume;

test.before.each(async () => {
  tv = await openTestVolume('file');
});
test.after.each(async () => {
  await tv.cleanup();
});

test('many small publishes to one chunk keep its slice stack bounded, its bytes and its holes', async () => {
  const v = tv.volume;
  const { ino } = await v.namespace.create(ROOT_INO, 'log', 0o644, { uid: 0, gid: 0 });
  const model = Buffer.alloc(3_000_000);
  const body = await v.files.acquire(ino);
  for (let i = 0; i < 60; i++) {
    const offset = i < 30 ? i * 1000 : 2_000_000 + i * 5000;
    const bytes = randomBytes(700);
    body.write(offset, bytes);
    bytes.copy(model, offset);
    await body.publish();
    const manifest = body.currentManifests().get(0)!;
    assert.ok(manifest.slices.length <= MAX_SLICES_PER_CHUNK, `after publish ${i}: ${manifest.slices.length} slices`);
  }
  const end = 2_000_000 + 59 * 5000 + 700;
  assert.ok((await body.read(0, end)).equals(model.subarray(0, end)));
  await v.files.release(ino);
  await collectObjects(v, { graceMs: 0 });
  const report = await fsck(v);
  assert.ok(report.clean, JSON.stringify(report.problems));
  assert.ok(report.storedObjects < 60, `compaction left ${report.storedObjects} objects for 60 writes`);
  const reopened = await tv.reopen();
  const again = await reopened.files.acquire(ino);
  assert.ok((await again.read(0, end)).equals(model.subarray(0, end)));
  await reopened.files.release(ino);
});

test.run();
