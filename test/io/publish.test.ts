// Publishing a write session: the staged rule (objects first, then one metadata commit; a failed
// commit leaves the previous generation whole), object keys written once, the newest bytes winning
// inside a session, truncation never resurrecting old bytes, and the GC queue records a publish writes.

import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectObjects } from '../../src/gc/object-gc.js';
import { cleanupStaged } from '../../src/gc/staged.js';
import { MAX_SLICES_PER_CHUNK, type FileBody } from '../../src/io/file-body.js';
import { BLOCK_BYTES, stackedEntries } from '../../src/layout/manifest.js';
import { parseBlockObjectKey, volumeObjectPrefix } from '../../src/layout/object-keys.js';
import { loadManifests } from '../../src/meta/body-records.js';
import { keys, parseKey, type KeySpace } from '../../src/meta/keys.js';
import type { Mutation, RawKV } from '../../src/meta/kv.js';
import { ROOT_INO } from '../../src/meta/records.js';
import type { Volume } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';
import { expectCode } from '../meta/expect-code.js';

const MiB = 1024 * 1024;
const caller = { uid: 0, gid: 0 };

/** Deterministic bytes: `length` bytes of a sequence that never repeats within a block. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (let i = length - (length % 4); i < length; i++) out[i] = (seed + i) & 0xff;
  return out;
}

/** A small deterministic PRNG for choosing offsets. */
function prng(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % below;
  };
}

/**
 * RocksDB with a switch: while `failBodyCommits` is on, every batch that writes a body descriptor
 * (tag B) fails as a full disk would. Every other call goes to the real store underneath.
 */
class BodyCommitFault implements RawKV {
  failBodyCommits = false;
  failed = 0;
  /** batches written */
  writes = 0;

  constructor(private readonly inner: RawKV) {}

  get(key: Buffer) { return this.inner.get(key); }
  getMany(keys: Buffer[]) { return this.inner.getMany(keys); }
  range(start: Buffer, end: Buffer, options?: { reverse?: boolean; limit?: number }) { return this.inner.range(start, end, options); }
  close() { return this.inner.close(); }

  write(mutations: Mutation[], options: { sync: boolean }): Promise<void> {
    if (this.failBodyCommits && mutations.some((m) => m.key[0] === 'B'.charCodeAt(0))) {
      this.failed++;
      return Promise.reject(new Error('injected: metadata commit failed (disk full)'));
    }
    this.writes++;
    return this.inner.write(mutations, options);
  }
}

async function spaceKeys(volume: Volume, space: KeySpace): Promise<string[]> {
  const [start, end] = keys.spaceRange(space);
  return (await volume.kv.scan(start, end)).map((entry) => parseKey.objectKey(entry.key));
}

async function referencedKeys(volume: Volume, ino: number): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (const manifest of (await loadManifests(volume.kv, ino)).values()) {
    for (const entry of stackedEntries(manifest)) referenced.add(entry.objectKey);
  }
  return referenced;
}

async function storedKeys(volume: Volume): Promise<Set<string>> {
  const found = new Set<string>();
  for await (const info of volume.store.list(volumeObjectPrefix(volume.name))) found.add(info.key);
  return found;
}

async function newFile(volume: Volume, name: string): Promise<{ ino: number; body: FileBody }> {
  const { ino } = await volume.namespace.create(ROOT_INO, name, 0o644, caller);
  return { ino, body: await volume.files.acquire(ino) };
}

async function readAll(volume: Volume, ino: number): Promise<Buffer> {
  const body = await volume.files.acquire(ino);
  try {
    return await body.read(0, body.sizeBytes + 1);
  } finally {
    await volume.files.release(ino);
  }
}

function assertBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  assert.unreachable(`${what}: ${actual.length} bytes read, ${expected.length} expected; first difference at byte ${at}`);
}

const test = suite<{ tv?: TestVolume; fault?: BodyCommitFault }>('publish', {});

test.before.each(async (ctx) => {
  ctx.tv = await openTestVolume('file', {
    wrapRawKV: (raw) => (ctx.fault = new BodyCommitFault(raw)),
  });
});
test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('a failed metadata commit leaves the previous body whole and its uploads staged for cleanup', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'artifact.bin');
  const v1 = bytes(1, 6 * MiB + 100);
  body.write(0, v1);
  await body.publish();
  const v1Keys = await referencedKeys(volume, ino);
  assert.is(v1Keys.size, 2, 'v1 spans two blocks');

  const v2 = bytes(2, 9 * MiB + 7);
  body.write(0, v2);
  ctx.fault!.failBodyCommits = true;
  let failure: unknown;
  await body.publish().catch((err: unknown) => (failure = err));
  assert.ok(failure, 'publish of v2 rejects');
  // the last release tries once more, fails the same way, and ends the session
  await volume.files.release(ino).catch(() => undefined);
  ctx.fault!.failBodyCommits = false;
  assert.ok(ctx.fault!.failed >= 1, 'the fault fired');

  const inode = await volume.namespace.getattr(ino);
  assert.is(inode.sizeBytes, v1.length, 'the inode keeps the v1 size');
  assertBytes(await readAll(volume, ino), v1, 'read after the failed publish');
  assert.equal(await referencedKeys(volume, ino), v1Keys, 'the manifests still reference exactly v1');

  const staged = await spaceKeys(volume, 'S');
  const stored = await storedKeys(volume);
  assert.is(staged.length, 3, "v2's three blocks are staged");
  for (const key of staged) {
    assert.ok(stored.has(key), `staged object ${key} is in the store`);
    assert.not.ok(v1Keys.has(key), `staged object ${key} is not referenced by any manifest`);
    assert.is(parseBlockObjectKey(key)?.ino, ino, `staged object ${key} belongs to the file`);
  }
  assert.equal(await spaceKeys(volume, 'Q'), [], 'nothing of v1 was queued for GC');

  const reopened = await ctx.tv!.reopen({ wrapRawKV: undefined });
  assert.is((await reopened.namespace.getattr(ino)).sizeBytes, v1.length, 'v1 size after reopen');
  assertBytes(await readAll(reopened, ino), v1, 'read after reopening the volume');
  assert.equal((await spaceKeys(reopened, 'S')).sort(), [...staged].sort(), 'the staged records survive a reopen');

  const cleanup = await cleanupStaged(reopened, { graceMs: 0 });
  assert.equal(cleanup.deletedKeys.sort(), [...staged].sort(), 'staged cleanup removes exactly the v2 uploads');
  const left = await storedKeys(reopened);
  for (const key of staged) assert.not.ok(left.has(key), `${key} is gone from the store`);
  for (const key of v1Keys) assert.ok(left.has(key), `v1 object ${key} is kept`);
  assertBytes(await readAll(reopened, ino), v1, 'v1 still reads whole after the cleanup');
});

test('an object key is never written twice across many publishes of the same file', async (ctx) => {
  let volume = ctx.tv!.volume;
  const puts: string[] = [];
  /** Records every object written, by a put or by a publish commit, and calls through to the real store. */
  const observe = (target: Volume) => {
    const put = target.store.put.bind(target.store);
    target.store.put = (key, body) => {
      puts.push(key);
      return put(key, body);
    };
    const staging = target.bodyContext.batchStaging!;
    const mutationsFor = staging.mutationsFor.bind(staging);
    staging.mutationsFor = (key, body) => {
      const mutations = mutationsFor(key, body);
      if (mutations) puts.push(key);
      return mutations;
    };
  };
  observe(volume);
  let { ino, body } = await newFile(volume, 'hot.dat');
  const model = bytes(99, 10 * MiB);
  body.write(0, model);
  await body.publish();
  const random = prng(7);
  for (let publish = 0; publish < 200; publish++) {
    const whole = publish % 50 === 0;
    const offset = whole ? random(2) * BLOCK_BYTES : random(model.length - 1);
    const length = whole ? BLOCK_BYTES : 1 + random(Math.min(64 * 1024, model.length - offset));
    const data = bytes(publish + 100, length);
    body.write(offset, data);
    data.copy(model, offset);
    if (publish % 10 === 9) {
      const again = bytes(publish + 1000, length); // a second write of the same range before publish
      body.write(offset, again);
      again.copy(model, offset);
    }
    await body.publish();
    if (publish % 40 === 39) {
      await volume.files.release(ino);
      volume = await ctx.tv!.reopen();
      observe(volume);
      body = await volume.files.acquire(ino);
    }
  }
  await volume.files.release(ino);

  const seen = new Set<string>();
  const twice = puts.filter((key) => (seen.has(key) ? true : (seen.add(key), false)));
  assert.equal(twice, [], 'no object key was put twice');
  assert.ok(puts.length >= 200, `every publish uploaded (${puts.length} puts)`);

  const stored = await storedKeys(volume);
  const referenced = await referencedKeys(volume, ino);
  const queued = new Set(await spaceKeys(volume, 'Q'));
  for (const key of referenced) assert.ok(stored.has(key), `manifest entry ${key} points to an existing object`);
  for (const key of puts) assert.ok(referenced.has(key) || queued.has(key), `uploaded object ${key} is referenced or queued for GC`);
  assert.equal(await spaceKeys(volume, 'S'), [], 'no staged record outlives its publish');
  for (const manifest of (await loadManifests(volume.kv, ino)).values()) {
    assert.ok(manifest.slices.length <= MAX_SLICES_PER_CHUNK, `chunk ${manifest.chunkIndex} was compacted (${manifest.slices.length} slices)`);
  }
  assertBytes(await readAll(volume, ino), model, 'the file reads as the last writes left it');
});

test('a write that arrives while publish compacts a deep chunk is kept', async (ctx) => {
  // a cache too small to hold anything, so compaction reads the old objects from the store
  const volume = await ctx.tv!.reopen({ cacheBytes: 1 });
  const { ino, body } = await newFile(volume, 'deep.bin');
  const expected = bytes(1, MiB);
  body.write(0, expected);
  await body.publish();
  for (let i = 0; i < MAX_SLICES_PER_CHUNK - 1; i++) {
    const patch = bytes(10 + i, 100);
    body.write(i * 1000, patch);
    patch.copy(expected, i * 1000);
    await body.publish();
  }
  assert.is((await loadManifests(volume.kv, ino)).get(0)!.slices.length, MAX_SLICES_PER_CHUNK, 'one more publish compacts');

  // A second writer's write lands while compaction reads the visible bytes back (a call-through
  // observer on the store makes the interleaving exact).
  const concurrent = Buffer.from('written during compaction');
  const getDigested = volume.store.getDigested!.bind(volume.store);
  let pending = true;
  volume.store.getDigested = (key, into) => {
    if (pending) {
      pending = false;
      body.write(500_000, concurrent);
    }
    return getDigested(key, into);
  };
  const last = bytes(99, 100);
  body.write(20_000, last);
  last.copy(expected, 20_000);
  await body.publish();
  assert.not.ok(pending, 'compaction read from the store');
  concurrent.copy(expected, 500_000);
  assertBytes(await body.read(0, MiB), expected, 'the writer reads its concurrent write');
  await volume.files.release(ino);
  assertBytes(await readAll(volume, ino), expected, 'the concurrent write is published');
});

test('rewriting a range before publish keeps the newest bytes', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'rewrite.bin');
  const expected = Buffer.alloc(6 * MiB);
  const write = (offset: number, data: Buffer) => {
    body.write(offset, data);
    data.copy(expected, offset);
  };
  write(0, bytes(1, 6 * MiB)); // block 0 is complete and starts uploading at once
  write(1 * MiB, bytes(2, 4 * MiB)); // rewrites the tail of the sealed block and the dirty one
  write(1 * MiB + 10, bytes(3, 100)); // and again, inside the dirty rewrite
  write(BLOCK_BYTES - 5, bytes(4, 10)); // across the block boundary
  assertBytes(await body.read(0, 6 * MiB), expected, 'the writer reads its newest bytes before publish');
  await body.publish();
  assertBytes(await body.read(0, 6 * MiB), expected, 'after publish');
  write(0, bytes(5, BLOCK_BYTES)); // a whole block again, over published data
  write(100, bytes(6, 50));
  await volume.files.release(ino);
  assertBytes(await readAll(volume, ino), expected, 'after release');
  const reopened = await ctx.tv!.reopen();
  assertBytes(await readAll(reopened, ino), expected, 'after reopening the volume');
});

test('shrinking then extending reads zeros, never old bytes', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'shrink.bin');
  const original = bytes(1, 10 * MiB);
  body.write(0, original);
  await body.publish();

  const cut = 5 * MiB + 123;
  await body.truncate(cut);
  await body.truncate(12 * MiB);
  const expected = Buffer.alloc(12 * MiB);
  original.copy(expected, 0, 0, cut);
  assertBytes(await body.read(0, 12 * MiB), expected, 'published body shrunk and extended, before publish');
  await body.publish();
  assertBytes(await body.read(0, 12 * MiB), expected, 'after publish');

  // inside one session: unpublished bytes cut away stay cut when a later write extends the file
  body.write(12 * MiB, bytes(2, 3 * MiB));
  await body.truncate(13 * MiB);
  body.write(14 * MiB, bytes(3, 10));
  const expected2 = Buffer.alloc(14 * MiB + 10);
  expected.copy(expected2);
  bytes(2, 3 * MiB).copy(expected2, 12 * MiB, 0, MiB);
  bytes(3, 10).copy(expected2, 14 * MiB);
  assertBytes(await body.read(0, 15 * MiB), expected2, 'session shrink then extend, before publish');
  await volume.files.release(ino);
  assertBytes(await readAll(volume, ino), expected2, 'after release');
  assertBytes(await readAll(await ctx.tv!.reopen(), ino), expected2, 'after reopening the volume');
});

test('a truncate that arrives while a whole block is uploading still cuts that block', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'race.bin');
  body.write(0, bytes(1, BLOCK_BYTES)); // complete: sealed and uploading now
  await body.truncate(1 * MiB); // no await on the upload in between, as a FUSE truncate may arrive
  await body.truncate(8 * MiB);
  const expected = Buffer.alloc(8 * MiB);
  bytes(1, BLOCK_BYTES).copy(expected, 0, 0, 1 * MiB);
  assertBytes(await body.read(0, 8 * MiB), expected, 'bytes past the cut read as zeros before publish');
  await volume.files.release(ino);
  assertBytes(await readAll(volume, ino), expected, 'and after publish');
});

test('a block cut away entirely while uploading leaves no bad GC record, no lease and no leak', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'race2.bin');
  body.write(BLOCK_BYTES, bytes(1, BLOCK_BYTES)); // block 1 is complete and uploading
  await body.truncate(MiB); // cuts all of block 1
  await volume.files.release(ino);
  assert.is((await readAll(volume, ino)).length, MiB);
  // the cut block is either never uploaded (cut before it had a key) or uploaded and left to cleanup
  for (let i = 0; i < 500 && volume.bodyContext.uploads.bytesHeld > 0; i++) await sleep(10);
  assert.ok((await storedKeys(volume)).size <= 1, 'at most the cut block itself was uploaded');
  let gcError: unknown;
  await collectObjects(volume, { graceMs: 0 }).catch((err: unknown) => (gcError = err));
  assert.is(gcError, undefined, `object GC runs (${String(gcError)})`);
  for (const key of await spaceKeys(volume, 'Q')) assert.ok(parseBlockObjectKey(key), `GC queue record ${JSON.stringify(key)} names a block object`);
  assert.is(volume.bodyContext.leases.size, 0, 'no object stays leased after the session ends');
  await cleanupStaged(volume, { graceMs: 0 });
  await collectObjects(volume, { graceMs: 0 });
  assert.equal([...(await storedKeys(volume))], [], 'staged cleanup and object GC leave nothing of the cut block');
});

test('publish queues the objects an overwrite or a truncate makes unreachable', async (ctx) => {
  const volume = ctx.tv!.volume;
  const { ino, body } = await newFile(volume, 'gc.bin');
  body.write(0, bytes(1, 10 * MiB));
  await body.publish();
  const first = await referencedKeys(volume, ino);
  assert.is(first.size, 3, 'three blocks: 4 + 4 + 2 MiB');
  assert.equal(await spaceKeys(volume, 'Q'), []);

  body.write(0, bytes(2, 10 * MiB)); // the whole file again
  await body.publish();
  const removedAt = volume.kv.currentVersion();
  const second = await referencedKeys(volume, ino);
  assert.is(second.size, 3);
  for (const key of second) assert.not.ok(first.has(key), `new object ${key} has a new key`);
  const [qStart, qEnd] = keys.spaceRange('Q');
  const records = await volume.kv.scan(qStart, qEnd);
  assert.equal(records.map((r) => parseKey.objectKey(r.key)).sort(), [...first].sort(), 'exactly the old objects are queued');
  for (const record of records) assert.is(record.version, removedAt, 'queued by the commit that removed them');

  const partial = bytes(3, 100);
  body.write(5 * MiB, partial); // shadows part of one object: nothing new becomes unreachable
  await body.publish();
  assert.is((await spaceKeys(volume, 'Q')).length, 3, 'a partial overwrite queues nothing');
  const third = await referencedKeys(volume, ino);

  await body.truncate(0);
  await body.publish();
  assert.equal((await spaceKeys(volume, 'Q')).sort(), [...first, ...third].sort(), 'truncate to 0 queues every object');
  assert.is((await loadManifests(volume.kv, ino)).size, 0, 'no manifest is left');
  assert.is((await body.read(0, 100)).length, 0);
  await volume.files.release(ino);
  assert.is((await volume.namespace.getattr(ino)).sizeBytes, 0);
});

test('a file created to ride on the next commit is made by its publish: one metadata write for both, and a failed publish unmakes it', async (ctx) => {
  const volume = await ctx.tv!.reopen({ uploadDelayMs: 3_600_000 });
  const ns = volume.namespace;
  const fault = ctx.fault!;
  const warm = await newFile(volume, 'warm');
  warm.body.write(0, bytes(2, 100));
  await volume.files.release(warm.ino);
  const writesBefore = fault.writes;
  const made = await ns.create(ROOT_INO, 'made', 0o644, caller, { commitSoon: true });
  const body = await volume.files.acquire(made.ino, made);
  body.write(0, bytes(3, 2000));
  await body.publish();
  await ns.settle(made.ino);
  assert.is(fault.writes - writesBefore, 1, 'the create rode on the publish commit');
  await volume.files.release(made.ino);

  const doomed = await ns.create(ROOT_INO, 'doomed', 0o644, caller, { commitSoon: true });
  assert.is((await ns.lookup(ROOT_INO, 'doomed')).ino, doomed.ino, 'visible before its commit');
  const doomedBody = await volume.files.acquire(doomed.ino, doomed);
  doomedBody.write(0, bytes(4, 2000));
  fault.failBodyCommits = true;
  const failure = await doomedBody.publish().then(() => undefined, (err: unknown) => err);
  assert.ok(failure, 'the publish that carries the create fails');
  const settled = await ns.settle(doomed.ino).then(() => undefined, (err: unknown) => err as { code?: string; message?: string });
  fault.failBodyCommits = false;
  assert.is(settled?.code, 'EIO', 'settle reports the failed creation');
  assert.match(settled?.message ?? '', /never made/);
  await expectCode(() => ns.getattr(doomed.ino), 'EIO');
  await expectCode(() => ns.lookup(ROOT_INO, 'doomed'), 'ENOENT');
  assert.equal((await ns.readdir(ROOT_INO)).map((e) => e.name), ['made', 'warm'], 'the listing has only the files that were made');
  await volume.files.release(doomed.ino).catch(() => undefined);

  const after = await ns.create(ROOT_INO, 'after', 0o644, caller, { commitSoon: true });
  assert.ok(after.ino > doomed.ino, 'inode numbers move on past the unmade one');
  const reopened = await ctx.tv!.reopen({});
  assert.equal((await reopened.namespace.readdir(ROOT_INO)).map((e) => e.name), ['after', 'made', 'warm'], 'closing made the last create; the failed one stays unmade');
  await expectCode(() => reopened.namespace.getattr(doomed.ino), 'ENOENT');
});

test('attribute changes of an open file ride on the next commit, as tar makes them before close: one metadata write for all, and a lost one fails the close', async (ctx) => {
  const volume = await ctx.tv!.reopen({ uploadDelayMs: 3_600_000 });
  const ns = volume.namespace;
  const fault = ctx.fault!;
  const { ino, body } = await newFile(volume, 'extracted');
  // the first publish after an open also reserves generations: one metadata write of its own
  body.write(0, bytes(5, 1000));
  await body.publish();
  body.write(1000, bytes(5, 2000));
  const writesBefore = fault.writes;
  await ns.setattr(ino, { uid: 1000, gid: 1000 }, { commitSoon: true });
  await ns.setattr(ino, { mode: 0o600 }, { commitSoon: true });
  const shown = await ns.getattr(ino);
  assert.equal([shown.uid, shown.gid, shown.mode & 0o7777], [1000, 1000, 0o600], 'shown before their commit');
  assert.is(fault.writes, writesBefore, 'nothing written yet');
  await body.publish();
  await ns.settle(ino);
  assert.is(fault.writes - writesBefore, 1, 'the publish commit carried both changes');
  await volume.files.release(ino);
  const reopened = await ctx.tv!.reopen({ uploadDelayMs: 3_600_000 });
  const stored = await reopened.namespace.getattr(ino);
  assert.equal([stored.uid, stored.gid, stored.mode & 0o7777, stored.sizeBytes], [1000, 1000, 0o600, 3000]);

  const again = await reopened.files.acquire(ino);
  again.write(3000, bytes(6, 100));
  await again.publish();
  again.write(3100, bytes(6, 100));
  await reopened.namespace.setattr(ino, { mode: 0o640 }, { commitSoon: true });
  const reopenedFault = ctx.fault!;
  reopenedFault.failBodyCommits = true;
  const failure = await again.publish().then(() => undefined, (err: unknown) => err);
  reopenedFault.failBodyCommits = false;
  assert.ok(failure, 'the publish that carries the change fails');
  const settled = await reopened.namespace.settle(ino).then(() => undefined, (err: unknown) => err as { code?: string; message?: string });
  assert.is(settled?.code, 'EIO', 'the close hears that the change was lost');
  assert.match(settled?.message ?? '', /attribute change of inode \d+ was lost/);
  assert.is((await reopened.namespace.getattr(ino)).mode & 0o7777, 0o600, 'the store and the caches agree on the mode before the lost change');
  await reopened.namespace.settle(ino);
  await reopened.files.release(ino).catch(() => undefined);
});

for (const writeback of [false, true]) {
  test(`${writeback ? 'in write-back mode' : 'on a local object store'} a small file is staged by its publish commit: one metadata write, no staged record, nothing after a failed commit`, async (ctx) => {
    const volume = await ctx.tv!.reopen({ writeback, uploadDelayMs: 3_600_000 });
    const fault = ctx.fault!;
    const content = bytes(7, 3000);
    const { ino, body } = await newFile(volume, 'small');
    body.write(0, content);
    fault.failBodyCommits = true;
    await body.publish().then(() => assert.unreachable('the publish commit was failed'), () => undefined);
    fault.failBodyCommits = false;
    assert.equal([...(await storedKeys(volume))], [], 'a failed commit stages no object');
    const writesBefore = fault.writes;
    await volume.files.release(ino);
    assert.is(fault.writes - writesBefore, 1, 'one metadata write publishes the file and stages its object');
    assert.equal(await spaceKeys(volume, 'S'), [], 'no staged record');
    const referenced = await referencedKeys(volume, ino);
    assert.equal([...(await storedKeys(volume))], [...referenced], 'the store holds the object the manifest names');
    assert.equal(await spaceKeys(volume, 'W'), [...referenced], 'staged in the metadata store');
    assertBytes(await readAll(volume, ino), content, 'read while staged');

    // Closing uploads what is staged; the next open reads it from the object store.
    const reopened = await ctx.tv!.reopen({ writeback: false });
    assert.equal(await spaceKeys(reopened, 'W'), [], 'nothing is staged after the close');
    assertBytes(await readAll(reopened, ino), content, 'read after the upload');
  });
}

test.run();
