// Moving staged objects to a local object store: the staged copy (a metadata record, which a synced
// commit may have made durable) is deleted only once a sync has made the moved copy durable too.
// Moves are synced in batches; a failed sync keeps the staged copies and is tried again; closing
// syncs what moved. The moved bytes are those committed, whatever the caller does with its buffer.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RocksRawKV } from '../../src/meta/rocks.js';
import { VersionedKV } from '../../src/meta/versioned.js';
import { FileObjectStore } from '../../src/object/file.js';
import { MetadataObjectStore } from '../../src/object/metadata-store.js';
import { WritebackObjectStore } from '../../src/object/writeback.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

/** A file store that records what it persisted, checks the staged copies still exist then, and fails while `failing`. */
class RecordingStore extends FileObjectStore {
  persisted: string[] = [];
  stagedWhenPersisted: boolean[] = [];
  failing = false;
  staged: MetadataObjectStore | undefined;

  override async persist(keys: string[]): Promise<void> {
    if (this.failing) throw new Error('disk unplugged');
    await super.persist(keys);
    for (const key of keys) this.stagedWhenPersisted.push((await this.staged!.head(key)) !== null);
    this.persisted.push(...keys);
  }
}

interface Ctx {
  dir: string;
  kv: VersionedKV;
  metadata: MetadataObjectStore;
  remote: RecordingStore;
  store: WritebackObjectStore;
  closed: boolean;
}

const move = suite<Ctx>('moving staged objects to a local object store', {} as Ctx);

move.before.each(async (ctx) => {
  ctx.closed = false;
  ctx.dir = await makeTempDir('writeback-move');
  ctx.kv = await VersionedKV.open(await RocksRawKV.open(join(ctx.dir, 'meta')), () => false);
  ctx.metadata = new MetadataObjectStore(ctx.kv);
  ctx.remote = new RecordingStore(join(ctx.dir, 'objects'), { flushBehind: false });
  ctx.remote.staged = ctx.metadata;
  ctx.store = await WritebackObjectStore.open({ folder: new FileObjectStore(join(ctx.dir, 'staging'), { flushBehind: false }), metadata: ctx.metadata }, ctx.remote, {
    stageWrites: false,
    stagePublished: true,
    concurrency: 2,
    uploadDelayMs: 0,
    retryDelayMs: 200,
    log: () => undefined,
    removeStaging: async () => undefined,
  });
});

move.after.each(async (ctx) => {
  if (!ctx.closed) await ctx.store.close();
  await ctx.kv.close();
  await removeDir(ctx.dir);
});

const KEYS = ['blocks/v/5/1/0/0', 'blocks/v/6/1/0/0', 'blocks/v/7/1/0/0'];

/** Stages each key as a publish commit does, and waits until the object store holds them all. */
async function stageAndMove({ kv, store, remote }: Ctx): Promise<void> {
  for (const key of KEYS) {
    const body = Buffer.from(`body of ${key}`);
    await kv.commit(store.mutationsFor(key, body)!);
    store.committed(key, body);
    // The caller's buffer goes back to its pool: what was committed must move, not what follows.
    body.fill('x');
  }
  for (let waited = 0; waited < 5000; waited += 20) {
    const found = await Promise.all(KEYS.map((key) => remote.head(key)));
    if (found.every((info) => info !== null)) return;
    await sleep(20);
  }
  assert.unreachable('the staged objects did not reach the object store');
}

async function stagedCount({ metadata }: Ctx): Promise<number> {
  return (await Promise.all(KEYS.map((key) => metadata.head(key)))).filter((info) => info !== null).length;
}

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

move('a moved object keeps its staged copy until a sync covers it; then the copy goes', async (ctx) => {
  await stageAndMove(ctx);
  assert.is(await stagedCount(ctx), KEYS.length, 'staged copies deleted before any sync');
  assert.is(ctx.store.pendingUploads, KEYS.length, 'moved objects awaiting their sync count as pending');
  assert.ok(await waitFor(async () => (await stagedCount(ctx)) === 0, 10_000), 'staged copies never deleted');
  assert.equal([...ctx.remote.persisted].sort(), KEYS);
  assert.ok(ctx.remote.stagedWhenPersisted.every(Boolean), 'a staged copy was gone before its sync');
  assert.is(ctx.store.pendingUploads, 0);
  for (const key of KEYS) assert.is((await ctx.store.get(key)).toString(), `body of ${key}`);
});

move('a failed sync keeps the staged copies and is tried again', async (ctx) => {
  ctx.remote.failing = true;
  await stageAndMove(ctx);
  await sleep(6000);
  assert.is(await stagedCount(ctx), KEYS.length, 'staged copies deleted though the sync failed');
  ctx.remote.failing = false;
  assert.ok(await waitFor(async () => (await stagedCount(ctx)) === 0, 5000), 'the sync was not tried again');
  assert.equal([...ctx.remote.persisted].sort(), KEYS);
});

move('closing syncs what moved, then deletes the staged copies', async (ctx) => {
  await stageAndMove(ctx);
  await ctx.store.close();
  ctx.closed = true;
  assert.equal([...ctx.remote.persisted].sort(), KEYS);
  assert.is(await stagedCount(ctx), 0);
});

move.run();
