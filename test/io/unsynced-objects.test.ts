// The objects publishes left unsynced, by inode: a file's fsync persists its own, skips those GC
// deleted since, keeps them listed when syncing fails, and past the limit all are synced and dropped.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnsyncedObjects } from '../../src/io/unsynced-objects.js';
import { FileObjectStore } from '../../src/object/file.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/** A file store that records what it was asked to persist, and fails while `failing` is set. */
class RecordingStore extends FileObjectStore {
  persisted: string[] = [];
  failing = false;

  override async persist(keys: string[]): Promise<void> {
    if (this.failing) throw new Error('disk unplugged');
    await super.persist(keys);
    this.persisted.push(...keys);
  }
}

const test = suite('unsynced objects');
let root: string;
let store: RecordingStore;

test.before.each(async () => {
  root = await makeTempDir('unsynced');
  store = new RecordingStore(root, { flushBehind: false });
});
test.after.each(async () => {
  await store.close();
  await removeDir(root);
});

async function putAll(keys: string[]): Promise<void> {
  for (const key of keys) await store.put(key, Buffer.from(key));
}

test('a file\'s fsync persists the objects listed for it, once, and no other file\'s', async () => {
  await putAll(['blocks/v/7/1/0/0', 'blocks/v/7/2/0/0', 'blocks/v/8/1/0/0']);
  const unsynced = new UnsyncedObjects(store, 100, () => assert.unreachable('no background flush below the limit'));
  unsynced.add(7, ['blocks/v/7/1/0/0']);
  unsynced.add(8, ['blocks/v/8/1/0/0']);
  unsynced.add(7, ['blocks/v/7/2/0/0']);
  await unsynced.persist(7);
  assert.equal(store.persisted.sort(), ['blocks/v/7/1/0/0', 'blocks/v/7/2/0/0']);
  store.persisted = [];
  await unsynced.persist(7);
  assert.equal(store.persisted, []);
});

test('an object deleted since its publish is skipped; the rest are persisted', async () => {
  await putAll(['blocks/v/7/1/0/0', 'blocks/v/7/2/0/0']);
  const unsynced = new UnsyncedObjects(store, 100, () => undefined);
  unsynced.add(7, ['blocks/v/7/1/0/0', 'blocks/v/7/2/0/0']);
  await store.delete(['blocks/v/7/1/0/0']);
  await unsynced.persist(7);
  assert.equal(store.persisted, ['blocks/v/7/2/0/0']);
});

test('when syncing fails, fsync fails and the objects stay listed for the next one', async () => {
  await putAll(['blocks/v/7/1/0/0']);
  const unsynced = new UnsyncedObjects(store, 100, () => undefined);
  unsynced.add(7, ['blocks/v/7/1/0/0']);
  store.failing = true;
  try {
    await unsynced.persist(7);
    assert.unreachable('persist should have failed');
  } catch (err) {
    assert.match((err as Error).message, /disk unplugged/);
  }
  store.failing = false;
  await unsynced.persist(7);
  assert.equal(store.persisted, ['blocks/v/7/1/0/0']);
});

test('past the limit every listed object is persisted in the background and forgotten', async () => {
  const keys = Array.from({ length: 6 }, (_, i) => `blocks/v/${i}/1/0/0`);
  await putAll(keys);
  const unsynced = new UnsyncedObjects(store, 5, (err) => assert.unreachable(String(err)));
  keys.forEach((key, ino) => unsynced.add(ino, [key]));
  for (let waited = 0; store.persisted.length < keys.length && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(store.persisted.sort(), [...keys].sort());
  store.persisted = [];
  for (let ino = 0; ino < keys.length; ino++) await unsynced.persist(ino);
  assert.equal(store.persisted, []);
});

test.run();
