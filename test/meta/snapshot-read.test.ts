// Reads as of a snapshot pin: after the live namespace moves on (overwrites, truncates, deletes,
// renames, attribute changes), reads at the pinned version still show the old names, attributes and
// bytes. Retiring the pin stops commits from keeping history.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileBody } from '../../src/io/file-body.js';
import { getFile } from '../../src/io/transfer.js';
import { ROOT_INO } from '../../src/meta/records.js';
import { listPins, pinSnapshot, retireSnapshot } from '../../src/snapshot/pins.js';
import type { Volume } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { expectCode } from './expect-code.js';

const MiB = 1024 * 1024;
const caller = { uid: 0, gid: 0 };

function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) out.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, Math.min(i, length - 4));
  return out;
}

async function writePath(volume: Volume, path: string, content: Buffer, offset = 0): Promise<number> {
  const ns = volume.namespace;
  const { parent, name } = await ns.resolveParent(path);
  const existing = await ns.lookup(parent.ino, name).catch(() => undefined);
  const ino = existing?.ino ?? (await ns.create(parent.ino, name, 0o644, caller)).ino;
  const body = await volume.files.acquire(ino);
  body.write(offset, content);
  await volume.files.release(ino);
  return ino;
}

/** Reads a whole file as of `atVersion` (omitted: now). */
async function readAt(volume: Volume, path: string, atVersion?: number): Promise<Buffer> {
  const inode = await volume.namespace.resolve(path, atVersion);
  const body = await FileBody.load(volume.bodyContext, inode, atVersion);
  return body.read(0, inode.sizeBytes + 1);
}

async function historyRecords(volume: Volume): Promise<number> {
  return (await volume.kv.raw.range(Buffer.from('h'), Buffer.from('i'))).length;
}

const names = async (volume: Volume, path: string, atVersion?: number) =>
  (await volume.namespace.readdir((await volume.namespace.resolve(path, atVersion)).ino, { atVersion })).map((e) => e.name);

const test = suite<{ tv?: TestVolume }>('reads at a snapshot pin', {});

test.before.each(async (ctx) => {
  ctx.tv = await openTestVolume('file');
});
test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('a pin taken right after a create whose commit is still to come sees the new file', async (ctx) => {
  const volume = ctx.tv!.volume;
  await volume.namespace.create(ROOT_INO, 'just-made', 0o644, caller, { commitSoon: true });
  const pin = await pinSnapshot(volume, 'right-after');
  assert.equal(await names(volume, '/', pin.version), ['just-made']);
});

test('after overwrites, truncates, deletes and renames, the pinned version shows the old names and bytes', async (ctx) => {
  const volume = ctx.tv!.volume;
  const ns = volume.namespace;
  const docs = await ns.mkdir(ROOT_INO, 'docs', 0o755, caller);
  const a = bytes(1, 6 * MiB + 11);
  const b = bytes(2, 3 * MiB);
  const c = bytes(3, 1000);
  const aIno = await writePath(volume, '/docs/a.txt', a);
  await writePath(volume, '/docs/b.txt', b);
  await writePath(volume, '/c.txt', c);
  await ns.setxattr(aIno, 'user.tag', Buffer.from('v1'), 0);
  const pin = await pinSnapshot(volume, 'before');

  await writePath(volume, '/docs/a.txt', bytes(4, 2 * MiB), 1 * MiB); // overwrite part of a
  await writePath(volume, '/docs/a.txt', bytes(5, 100)); // and its start
  const bBody = await volume.files.acquire((await ns.resolve('/docs/b.txt')).ino);
  await bBody.truncate(100);
  await volume.files.release(bBody.ino);
  await ns.unlink(ROOT_INO, 'c.txt');
  await ns.rename(docs.ino, 'b.txt', docs.ino, 'b-renamed.txt');
  await ns.rename(ROOT_INO, 'docs', ROOT_INO, 'papers');
  await ns.setattr(aIno, { mode: 0o600 });
  await ns.setxattr(aIno, 'user.tag', Buffer.from('v2'), 0);
  await writePath(volume, '/new.txt', Buffer.from('new'));

  // the pinned version
  const v = pin.version;
  assert.equal(await names(volume, '/', v), ['c.txt', 'docs']);
  assert.equal(await names(volume, '/docs', v), ['a.txt', 'b.txt']);
  assert.ok((await readAt(volume, '/docs/a.txt', v)).equals(a), 'a.txt has its old bytes');
  assert.ok((await readAt(volume, '/docs/b.txt', v)).equals(b), 'b.txt has its old length and bytes');
  assert.ok((await readAt(volume, '/c.txt', v)).equals(c), 'the deleted c.txt is readable');
  assert.is((await ns.resolve('/docs/a.txt', v)).mode & 0o7777, 0o644, 'old mode');
  assert.is((await ns.getxattr(aIno, 'user.tag', v)).toString(), 'v1', 'old xattr');
  await expectCode(() => ns.resolve('/papers', v), 'ENOENT', 'the later name does not exist at the pin');
  await expectCode(() => ns.resolve('/new.txt', v), 'ENOENT', 'a later file does not exist at the pin');

  // and now
  assert.equal(await names(volume, '/'), ['new.txt', 'papers']);
  assert.equal(await names(volume, '/papers'), ['a.txt', 'b-renamed.txt']);
  const aNow = Buffer.from(a);
  bytes(4, 2 * MiB).copy(aNow, 1 * MiB);
  bytes(5, 100).copy(aNow, 0);
  assert.ok((await readAt(volume, '/papers/a.txt')).equals(aNow), 'a.txt now');
  assert.ok((await readAt(volume, '/papers/b-renamed.txt')).equals(b.subarray(0, 100)), 'b now');
  await expectCode(() => ns.resolve('/c.txt'), 'ENOENT');
});

test('getFile at the pinned version writes the old bytes to a local file', async (ctx) => {
  const volume = ctx.tv!.volume;
  const old = bytes(7, 5 * MiB + 3);
  await writePath(volume, '/artifact', old);
  const pin = await pinSnapshot(volume, 'release-1');
  await writePath(volume, '/artifact', bytes(8, 5 * MiB + 3));
  const body = await volume.files.acquire((await volume.namespace.resolve('/artifact')).ino);
  await body.truncate(10);
  await volume.files.release(body.ino);
  const dir = await makeTempDir('snapshot-get');
  try {
    const local = join(dir, 'out');
    const result = await getFile(volume, '/artifact', local, { atVersion: pin.version });
    assert.is(result.sizeBytes, old.length);
    assert.is(result.digestUri, `sha256:${createHash('sha256').update(old).digest('hex')}`);
    assert.ok((await readFile(local)).equals(old));
    await getFile(volume, '/artifact', local);
    assert.is((await readFile(local)).length, 10, 'without a version: the current body');
  } finally {
    await removeDir(dir);
  }
});

test('a pin sees what open write sessions had written, and only that', async (ctx) => {
  const volume = ctx.tv!.volume;
  const ino = (await volume.namespace.create(ROOT_INO, 'open.log', 0o644, caller)).ino;
  const body = await volume.files.acquire(ino);
  body.write(0, Buffer.from('v1: written before the pin'));
  const pin = await pinSnapshot(volume, 'p');
  body.write(0, Buffer.from('v2'));
  body.write(26, Buffer.from(', and more after it'));
  await volume.files.release(ino);
  assert.is((await readAt(volume, '/open.log', pin.version)).toString(), 'v1: written before the pin');
  assert.is((await readAt(volume, '/open.log')).toString(), 'v2: written before the pin, and more after it');
});

test('a paged listing of a pinned directory does not repeat the entry it resumes after', async (ctx) => {
  const volume = ctx.tv!.volume;
  const ns = volume.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'd', 0o755, caller);
  for (const name of ['a', 'b', 'c', 'd']) await ns.create(dir.ino, name, 0o644, caller);
  const pin = await pinSnapshot(volume, 'listing');
  await ns.unlink(dir.ino, 'b');
  await ns.rename(dir.ino, 'a', dir.ino, 'z');
  const pages: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = await ns.readdir(dir.ino, { after, limit: 1, atVersion: pin.version });
    if (page.length === 0) break;
    pages.push(page[0]!.name);
    after = page[0]!.name;
  }
  assert.equal(pages, ['a', 'b', 'c', 'd'], 'one page per entry, in order, each once');
});

test('a pinned version stays readable after the volume is reopened, and commits still keep history', async (ctx) => {
  const volume = ctx.tv!.volume;
  const old = bytes(9, 2 * MiB);
  await writePath(volume, '/f', old);
  const pin = await pinSnapshot(volume, 'durable');
  const reopened = await ctx.tv!.reopen();
  assert.equal((await listPins(reopened)).map((p) => [p.name, p.version]), [['durable', pin.version]]);
  await writePath(reopened, '/f', bytes(10, 2 * MiB)); // overwritten after the reopen
  await reopened.namespace.unlink(ROOT_INO, 'f');
  assert.ok((await readAt(reopened, '/f', pin.version)).equals(old), 'the old body is still readable at the pin');
});

test('after the last pin is retired, commits stop writing history', async (ctx) => {
  const volume = ctx.tv!.volume;
  const ns = volume.namespace;
  await writePath(volume, '/f', Buffer.from('one'));
  await ns.mkdir(ROOT_INO, 'd', 0o755, caller);
  assert.is(await historyRecords(volume), 0, 'no pin, no history');
  await pinSnapshot(volume, 'first');
  await pinSnapshot(volume, 'second');
  await writePath(volume, '/f', Buffer.from('two'));
  const withPins = await historyRecords(volume);
  assert.ok(withPins > 0, 'commits under a pin keep history');
  await retireSnapshot(volume, 'first');
  await ns.rename(ROOT_INO, 'd', ROOT_INO, 'e');
  const oneLeft = await historyRecords(volume);
  assert.ok(oneLeft > withPins, 'one pin left: history is still kept');
  await retireSnapshot(volume, 'second');
  assert.equal(await listPins(volume), []);
  await writePath(volume, '/f', Buffer.from('three'));
  await ns.rename(ROOT_INO, 'e', ROOT_INO, 'g');
  await ns.unlink(ROOT_INO, 'f');
  await ns.setattr(ROOT_INO, { mode: 0o700 });
  assert.is(await historyRecords(volume), oneLeft, 'no new history once no pin remains');
  const reopened = await ctx.tv!.reopen();
  await reopened.namespace.mkdir(ROOT_INO, 'h', 0o755, caller);
  await reopened.namespace.rmdir(ROOT_INO, 'g');
  assert.is(await historyRecords(reopened), oneLeft, 'nor after a reopen');
});

test.run();
