import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fsck } from '../../src/gc/fsck.js';
import { collectHistory } from '../../src/gc/history-gc.js';
import { collectObjects } from '../../src/gc/object-gc.js';
import { runGc } from '../../src/gc/run.js';
import { FileBody } from '../../src/io/file-body.js';
import { IOError } from '../../src/errors.js';
import { parseBlockObjectKey } from '../../src/layout/object-keys.js';
import { keys } from '../../src/meta/keys.js';
import { ROOT_INO } from '../../src/meta/records.js';
import type { ObjectStore } from '../../src/object/store.js';
import { findPin, pinSnapshot, retireSnapshot } from '../../src/snapshot/pins.js';
import type { Volume } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';
import { expectCode } from '../meta/expect-code.js';

const ROOT = { uid: 0, gid: 0 };
const MiB = 1024 * 1024;

async function writeFile(volume: Volume, name: string, bytes: Buffer): Promise<number> {
  const existing = await volume.namespace.lookup(ROOT_INO, name).catch(() => undefined);
  const ino = existing?.ino ?? (await volume.namespace.create(ROOT_INO, name, 0o644, ROOT)).ino;
  const body = await volume.files.acquire(ino);
  await body.truncate(0);
  body.write(0, bytes);
  await volume.files.release(ino);
  return ino;
}

async function readAt(volume: Volume, path: string, atVersion?: number): Promise<Buffer> {
  const inode = await volume.namespace.resolve(path, atVersion);
  const body = await FileBody.load(volume.bodyContext, inode, atVersion);
  return body.read(0, inode.sizeBytes);
}

async function storedKeys(store: ObjectStore): Promise<string[]> {
  const found: string[] = [];
  for await (const info of store.list('blocks/')) found.push(info.key);
  return found.sort();
}

async function historyRecords(volume: Volume): Promise<number> {
  return (await volume.kv.raw.range(Buffer.from('h'), Buffer.from('i'))).length;
}

async function assertClean(volume: Volume, step: string): Promise<void> {
  const report = await fsck(volume);
  assert.ok(report.clean, `fsck after ${step}: ${JSON.stringify(report.problems)}`);
}

const test = suite('garbage collection');
let tv: TestVolume;

test.before.each(async () => {
  tv = await openTestVolume('file');
});
test.after.each(async () => {
  await tv.cleanup();
});

test('a pinned snapshot keeps old bytes through gc, and retiring it lets gc reclaim exactly the unreachable objects', async () => {
  const v = tv.volume;
  const first = randomBytes(9 * MiB);
  const kept = randomBytes(3 * MiB);
  await writeFile(v, 'changed', first);
  await writeFile(v, 'truncated', first);
  await writeFile(v, 'deleted', first);
  await writeFile(v, 'renamed', kept);
  const pin = await pinSnapshot(v, 'before');
  await assertClean(v, 'pin');

  await writeFile(v, 'changed', randomBytes(5 * MiB));
  const truncated = await v.namespace.lookup(ROOT_INO, 'truncated');
  const body = await v.files.acquire(truncated.ino);
  await body.truncate(1000);
  await v.files.release(truncated.ino);
  await v.namespace.unlink(ROOT_INO, 'deleted');
  await v.namespace.rename(ROOT_INO, 'renamed', ROOT_INO, 'moved');

  const gcWhilePinned = await runGc(v, { graceMs: 0 });
  assert.is(gcWhilePinned.objects.deleted, 0);
  assert.ok(gcWhilePinned.objects.keptByPin > 0);
  for (const name of ['changed', 'truncated', 'deleted']) assert.ok((await readAt(v, `/${name}`, pin.version)).equals(first), `${name} as pinned`);
  assert.ok((await readAt(v, '/renamed', pin.version)).equals(kept));
  await assertClean(v, 'gc while pinned');

  await retireSnapshot(v, 'before');
  const gcAfter = await runGc(v, { graceMs: 0 });
  assert.ok(gcAfter.objects.deleted > 0);
  assert.ok(gcAfter.history.removed > 0);
  await assertClean(v, 'gc after retire');

  const [start, end] = keys.spaceRange('M');
  const reachable = new Set<string>();
  for (const entry of await v.kv.scan(start, end)) {
    for (const slice of JSON.parse(entry.value.toString()).slices) for (const block of slice.blocks) reachable.add(block.objectKey);
  }
  assert.equal(await storedKeys(v.store), [...reachable].sort());
  assert.is((await readAt(v, '/truncated')).length, 1000);
  assert.ok((await readAt(v, '/moved')).equals(kept));
  assert.is(await historyRecords(v), 0);
});

test('gc keeps an object a read in flight is using, whatever the grace', async () => {
  const content = randomBytes(12 * MiB);
  await writeFile(tv.volume, 'big', content);
  // A cold cache and a store whose GETs wait for the test: the read holds its plan while gc runs.
  const v = await tv.reopen({ cacheBytes: 1 });
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const realGetDigested = v.store.getDigested!.bind(v.store);
  v.store.getDigested = async (key, into) => {
    await gate;
    return realGetDigested(key, into);
  };
  const inode = await v.namespace.resolve('/big');
  const body = await FileBody.load(v.bodyContext, inode);
  const reading = body.read(0, content.length);
  await v.namespace.unlink(ROOT_INO, 'big');
  const report = await collectObjects(v, { graceMs: 0 });
  assert.is(report.deleted, 0);
  assert.is(report.keptByLease, 3);
  openGate();
  assert.ok((await reading).equals(content));
  const after = await collectObjects(v, { graceMs: 0 });
  assert.is(after.deleted, 3);
  assert.equal(await storedKeys(v.store), []);
});

test('queued objects survive inside the grace window and go after it', async () => {
  const v = tv.volume;
  await writeFile(v, 'f', randomBytes(MiB));
  await writeFile(v, 'f', randomBytes(MiB));
  const now = Date.now();
  const early = await collectObjects(v, { graceMs: 60_000, nowMs: now });
  assert.is(early.deleted, 0);
  assert.is(early.keptByGrace, 1);
  const late = await collectObjects(v, { graceMs: 60_000, nowMs: now + 61_000 });
  assert.is(late.deleted, 1);
  await assertClean(v, 'grace');
});

test('history of a busy file stays bounded once pins retire, and a snapshot between busy periods reads right after many history passes', async () => {
  const v = tv.volume;
  const early = await pinSnapshot(v, 'early');
  for (let i = 0; i < 40; i++) await writeFile(v, 'busy', Buffer.from(`first period ${i}`));
  const middle = await pinSnapshot(v, 'middle');
  for (let i = 0; i < 40; i++) {
    await writeFile(v, 'busy', Buffer.from(`second period ${i}`));
    await collectHistory(v);
  }
  await retireSnapshot(v, 'early');
  for (let i = 0; i < 5; i++) await collectHistory(v);
  assert.is((await readAt(v, '/busy', (await findPin(v, 'middle')).version)).toString(), 'first period 39');
  assert.is((await readAt(v, '/busy')).toString(), 'second period 39');
  const whilePinned = await historyRecords(v);
  await retireSnapshot(v, 'middle');
  await collectHistory(v);
  assert.is(await historyRecords(v), 0);
  assert.ok(whilePinned > 0);
  assert.ok(early.version < middle.version);
  for (let i = 0; i < 20; i++) await writeFile(v, 'busy', Buffer.from(`unpinned ${i}`));
  assert.is(await historyRecords(v), 0, 'commits with no pin write no history');
});

test('fsck finds a leaked object and repair queues it for gc', async () => {
  const v = tv.volume;
  await writeFile(v, 'f', randomBytes(1000));
  await v.store.put('blocks/test/999/1/0/0', Buffer.from('stray'));
  const report = await fsck(v);
  assert.not.ok(report.clean);
  assert.equal(report.problems.map((p) => [p.kind, p.objectKey]), [['leaked', 'blocks/test/999/1/0/0']]);
  const repaired = await fsck(v, { repair: true });
  assert.ok(repaired.clean);
  await collectObjects(v, { graceMs: 0 });
  await assertClean(v, 'repair and gc');
  assert.is((await storedKeys(v.store)).length, 1);
});

test('fsck reports a block whose bytes no longer match its checksum', async () => {
  const v = tv.volume;
  await writeFile(v, 'f', randomBytes(1000));
  const [key] = await storedKeys(v.store);
  await v.store.delete([key!]);
  await v.store.put(key!, randomBytes(1000));
  const report = await fsck(v);
  assert.not.ok(report.clean);
  assert.is(report.problems[0]!.kind, 'checksum');
});

test('fsck checks objects several at a time and still reports each damaged one, in manifest order, with progress for all', async () => {
  const v = tv.volume;
  for (let i = 0; i < 30; i++) await writeFile(v, `f${String(i).padStart(2, '0')}`, randomBytes(1000 + i));
  const objectKeys = await storedKeys(v.store);
  assert.is(objectKeys.length, 30);
  // Damage three of them three ways: other bytes of the same size, too few bytes, gone.
  const [changed, shortened, removed] = [objectKeys[4]!, objectKeys[17]!, objectKeys[25]!];
  const changedSize = (await v.store.get(changed)).length;
  await v.store.delete([changed, shortened, removed]);
  await v.store.put(changed, randomBytes(changedSize));
  await v.store.put(shortened, randomBytes(10));
  const store = v.store as ObjectStore & { getDigested: NonNullable<ObjectStore['getDigested']> };
  const read = store.getDigested.bind(store);
  let reading = 0;
  let mostAtOnce = 0;
  store.getDigested = async (key, into) => {
    mostAtOnce = Math.max(mostAtOnce, ++reading);
    try {
      return await read(key, into);
    } finally {
      reading--;
    }
  };
  const progress: number[] = [];
  const report = await fsck(v, { onProgress: (done, total) => progress.push(done * 1000 + total) }).finally(() => (store.getDigested = read));
  assert.ok(mostAtOnce > 1, `objects were read ${mostAtOnce} at a time`);
  assert.not.ok(report.clean);
  const expected = new Map([[changed, 'checksum'], [shortened, 'short'], [removed, 'missing']]);
  // One block per file: manifests are scanned by inode, so that is the order of the report.
  const manifestOrder = [...expected.keys()].sort((a, b) => parseBlockObjectKey(a)!.ino - parseBlockObjectKey(b)!.ino);
  assert.equal(report.problems.map((p) => [p.kind, p.objectKey]), manifestOrder.map((key) => [expected.get(key), key]));
  assert.equal(progress, Array.from({ length: 30 }, (_, i) => (i + 1) * 1000 + 30), 'one progress step per object, counting up to all');
});

test('a read that fails ends fsck with its error, and the checkers take no more objects', async () => {
  const v = tv.volume;
  for (let i = 0; i < 40; i++) await writeFile(v, `f${i}`, randomBytes(100));
  const store = v.store as ObjectStore & { getDigested: NonNullable<ObjectStore['getDigested']> };
  const read = store.getDigested.bind(store);
  let reads = 0;
  store.getDigested = async (key, into) => {
    if (++reads === 5) throw IOError(`reading object ${key} failed: the disk went away`);
    return read(key, into);
  };
  try {
    await expectCode(() => fsck(v), 'EIO');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(reads < 5 + 8, `${reads} reads: only those already under way finished after the failure`);
  } finally {
    store.getDigested = read;
  }
});

test.run();
