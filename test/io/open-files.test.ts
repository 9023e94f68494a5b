// Open file bodies shared by every handle of an inode: writers and readers see the same bytes, the
// last release publishes, and an unlinked file lives on while open (and is retired after a crash).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileBody } from '../../src/io/file-body.js';
import { stackedEntries } from '../../src/layout/manifest.js';
import { loadManifests } from '../../src/meta/body-records.js';
import { keys, parseKey } from '../../src/meta/keys.js';
import { ROOT_INO } from '../../src/meta/records.js';
import type { Volume } from '../../src/volume.js';
import { expectCode } from '../meta/expect-code.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';

const caller = { uid: 0, gid: 0 };
const MiB = 1024 * 1024;

async function queued(volume: Volume): Promise<string[]> {
  const [start, end] = keys.spaceRange('Q');
  return (await volume.kv.scan(start, end)).map((e) => parseKey.objectKey(e.key)).sort();
}

async function objectKeysOf(volume: Volume, ino: number): Promise<string[]> {
  const found: string[] = [];
  for (const manifest of (await loadManifests(volume.kv, ino)).values()) found.push(...stackedEntries(manifest).map((e) => e.objectKey));
  return found.sort();
}

/** What a new reader (another process) would see: the published body. */
async function publishedBytes(volume: Volume, ino: number): Promise<Buffer> {
  const inode = await volume.namespace.getattr(ino);
  const body = await FileBody.load(volume.bodyContext, inode);
  return body.read(0, inode.sizeBytes);
}

const test = suite<{ tv?: TestVolume }>('open files', {});

test.before.each(async (ctx) => {
  ctx.tv = await openTestVolume('file');
});
test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('handles of one inode share its body, and only the last release publishes', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino } = await volume.namespace.create(ROOT_INO, 'shared', 0o644, caller);
  const writer = await volume.files.acquire(ino);
  const reader = await volume.files.acquire(ino);
  writer.write(0, Buffer.from('hello'));
  assert.is((await reader.read(0, 100)).toString(), 'hello', 'a second handle reads unpublished bytes');
  await volume.files.release(ino);
  assert.is((await publishedBytes(volume, ino)).length, 0, 'one handle still open: nothing published yet');
  await volume.files.release(ino);
  assert.is((await publishedBytes(volume, ino)).toString(), 'hello', 'the last release published');
  assert.is((await volume.namespace.getattr(ino)).sizeBytes, 5);
});

test('an unlinked file that is still open stays readable and writable until its last release', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino } = await volume.namespace.create(ROOT_INO, 'tmp', 0o644, caller);
  const body = await volume.files.acquire(ino);
  body.write(0, Buffer.alloc(5 * MiB, 1));
  await body.publish();
  const objects = await objectKeysOf(volume, ino);
  await volume.namespace.unlink(ROOT_INO, 'tmp');
  await expectCode(() => volume.namespace.lookup(ROOT_INO, 'tmp'), 'ENOENT', 'the name is gone');
  assert.is((await volume.namespace.getattr(ino)).nlink, 0);
  body.write(5 * MiB, Buffer.from('more'));
  await body.publish();
  const tail = await body.read(5 * MiB - 2, 10);
  assert.equal([...tail], [1, 1, ...Buffer.from('more')], 'writes after the unlink read back');
  assert.equal(await queued(volume), [], 'nothing is queued while the file is open');
  const allObjects = await objectKeysOf(volume, ino);
  assert.ok(objects.every((key) => allObjects.includes(key)));
  await volume.files.release(ino);
  await expectCode(() => volume.namespace.getattr(ino), 'ENOENT', 'the last release retires the inode');
  assert.equal(await queued(volume), allObjects, 'and queues every object of its body');
  const [start, end] = keys.spaceRange('O');
  assert.equal(await volume.kv.scan(start, end), [], 'no orphan record is left');
});

test('an unlinked open file left behind by a stopped process is retired by recoverOrphans', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino } = await volume.namespace.create(ROOT_INO, 'orphan', 0o644, caller);
  const body = await volume.files.acquire(ino);
  body.write(0, Buffer.alloc(100, 2));
  await body.publish();
  const objects = await objectKeysOf(volume, ino);
  await volume.namespace.unlink(ROOT_INO, 'orphan');
  // the process stops with the handle still open (close publishes, it does not release)
  const reopened = await ctx.tv!.reopen();
  assert.is((await reopened.namespace.getattr(ino)).nlink, 0, 'the orphan survives the restart');
  assert.equal(await reopened.namespace.recoverOrphans(), [ino]);
  await expectCode(() => reopened.namespace.getattr(ino), 'ENOENT');
  assert.equal(await queued(reopened), objects);
  assert.equal(await reopened.namespace.recoverOrphans(), [], 'a second recovery finds nothing');
});

test.run();
