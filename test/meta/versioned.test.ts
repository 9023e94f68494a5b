// The versioned metadata store on real RocksDB: one version per commit, reads and scans as of an old
// version while history is kept, and no history written while no one needs it.

import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { keys } from '../../src/meta/keys.js';
import type { Mutation, RawKV } from '../../src/meta/kv.js';
import { RocksRawKV } from '../../src/meta/rocks.js';
import { VersionedKV } from '../../src/meta/versioned.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { expectCode } from './expect-code.js';

const put = (key: Buffer, value: string): Mutation => ({ type: 'put', key, value: Buffer.from(value) });
const del = (key: Buffer): Mutation => ({ type: 'del', key });
const text = (value: Buffer | undefined) => value?.toString();

/** Raw records of one internal space (h = history, e = history index). */
async function rawSpace(raw: RawKV, tag: 'h' | 'e') {
  return raw.range(Buffer.from(tag), Buffer.from(String.fromCharCode(tag.charCodeAt(0) + 1)));
}

interface Ctx {
  dir?: string;
  raw?: RocksRawKV;
  kv?: VersionedKV;
  history: { on: boolean };
}

const test = suite<Ctx>('versioned metadata store', { history: { on: false } });

test.before.each(async (ctx) => {
  ctx.dir = await makeTempDir('versioned');
  ctx.history = { on: false };
  ctx.raw = await RocksRawKV.open(ctx.dir);
  const history = ctx.history;
  ctx.kv = await VersionedKV.open(ctx.raw, () => history.on);
});
test.after.each(async (ctx) => {
  await ctx.kv?.close().catch(() => undefined);
  await removeDir(ctx.dir!);
});

/** The raw store with a count of batch writes, their sync flags, and a switch that fails the next one. */
function countingRaw(raw: RawKV) {
  const state = { writes: 0, syncs: [] as boolean[], failNext: false };
  const counted: RawKV = {
    get: (key) => raw.get(key),
    getMany: (k) => raw.getMany(k),
    range: (start, end, options) => raw.range(start, end, options),
    close: () => raw.close(),
    write: (mutations, options) => {
      if (state.failNext) {
        state.failNext = false;
        return Promise.reject(new Error('injected write failure'));
      }
      state.writes += 1;
      state.syncs.push(options.sync);
      return raw.write(mutations, options);
    },
  };
  return { state, counted };
}

test('each commit takes the next version, and the count survives a reopen', async (ctx) => {
  const kv = ctx.kv!;
  assert.is(kv.currentVersion(), 0);
  const versions: number[] = [];
  for (let i = 0; i < 5; i++) versions.push(await kv.commit([put(keys.inode(10 + i), `v${i}`)]));
  assert.equal(versions, [1, 2, 3, 4, 5]);
  assert.is(kv.currentVersion(), 5);
  const [start, end] = keys.spaceRange('I');
  assert.equal((await kv.scan(start, end)).map((e) => e.version), [1, 2, 3, 4, 5], 'each record carries its commit version');
  // concurrent commits are serialized, still one version each
  const concurrent = await Promise.all([1, 2, 3].map((i) => kv.commit([put(keys.inode(100 + i), 'x')])));
  assert.equal(concurrent.sort(), [6, 7, 8]);
  await kv.close();
  ctx.raw = await RocksRawKV.open(ctx.dir!);
  ctx.kv = await VersionedKV.open(ctx.raw, () => false);
  assert.is(ctx.kv.currentVersion(), 8);
  assert.is(await ctx.kv.commit([put(keys.inode(1), 'y')]), 9);
});

test('a failed commit does not use up a version and later commits still run', async (ctx) => {
  const { state, counted } = countingRaw(ctx.raw!);
  const kv = await VersionedKV.open(counted, () => true);
  assert.is(await kv.commit([put(keys.inode(5), 'a')]), 1);
  state.failNext = true;
  let failed = false;
  await kv.commit([put(keys.inode(5), 'b')]).catch(() => (failed = true));
  assert.ok(failed, 'the commit rejects');
  assert.is(kv.currentVersion(), 1);
  assert.is(text(await kv.get(keys.inode(5))), 'a', 'nothing of the failed commit is visible');
  assert.is(await kv.commit([put(keys.inode(5), 'c')]), 2, 'the next commit takes the next version');
  assert.is(text(await kv.get(keys.inode(5), 1)), 'a');
  assert.is(text(await kv.get(keys.inode(5))), 'c');
});

test('mutations queued with commitSoon ride on the next commit; reads of their keys and settle wait for them', async (ctx) => {
  const { state, counted } = countingRaw(ctx.raw!);
  const kv = await VersionedKV.open(counted, () => false);
  kv.commitSoon([put(keys.inode(7), 'queued')], () => assert.unreachable('nothing fails'));
  assert.is(state.writes, 0, 'queuing writes nothing');
  assert.is(await kv.commit([put(keys.inode(8), 'own')]), 1, 'one version for the carried and the own mutations');
  assert.is(state.writes, 1, 'one batch');
  assert.is(text(await kv.get(keys.inode(7))), 'queued');

  kv.commitSoon([put(keys.inode(9), 'read')], () => assert.unreachable('nothing fails'));
  assert.is(text(await kv.get(keys.inode(9))), 'read', 'a read of a queued key commits it first');
  const [start, end] = keys.spaceRange('I');
  kv.commitSoon([put(keys.inode(10), 'scanned')], () => assert.unreachable('nothing fails'));
  assert.equal((await kv.scan(start, end)).map((e) => text(e.value)), ['queued', 'own', 'read', 'scanned'], 'a scan over a queued key commits it first');
  const writes = state.writes;
  await kv.get(keys.inode(7));
  assert.is(state.writes, writes, 'a read with nothing queued for its key commits nothing');

  kv.commitSoon([put(keys.inode(11), 'alone')], () => assert.unreachable('nothing fails'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.is(state.writes, writes + 1, 'with no other commit, the queued mutations are committed on their own');
  assert.is(text(await ctx.raw!.get(keys.inode(11)))?.slice(8), 'alone');

  kv.commitSoon([put(keys.inode(12), 'settled')], () => assert.unreachable('nothing fails'));
  await kv.settle();
  assert.is(state.syncs.at(-1), false);
  await kv.settle({ sync: true });
  assert.is(state.syncs.at(-1), true, 'settle with sync syncs the log even with nothing queued');
  assert.is(text(await ctx.raw!.get(keys.inode(12)))?.slice(8), 'settled');
});

test('a failed commit carrying queued mutations tells their owners and fails the commits called before it was known', async (ctx) => {
  const { state, counted } = countingRaw(ctx.raw!);
  const kv = await VersionedKV.open(counted, () => false);
  const heard: string[] = [];
  kv.commitSoon([put(keys.inode(20), 'queued')], (err) => heard.push(err.message));
  state.failNext = true;
  const carrying = kv.commit([put(keys.inode(21), 'carrier')]);
  const dependent = kv.commit([put(keys.inode(22), 'built on it')]);
  await expectRejection(carrying, /injected write failure/);
  await expectRejection(dependent, /an earlier commit it may build on failed/);
  assert.equal(heard, ['injected write failure'], 'the owner of the queued mutations heard once');
  for (const ino of [20, 21, 22]) assert.is(await kv.get(keys.inode(ino)), undefined, `nothing of inode ${ino} was written`);
  assert.is(await kv.commit([put(keys.inode(23), 'later')]), 1, 'a commit called after the failure runs');
  kv.commitSoon([put(keys.inode(24), 'queued later')], () => assert.unreachable('this one is made'));
  await kv.settle();
  assert.is(text(await kv.get(keys.inode(24))), 'queued later');
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error && message.test(err.message), `expected a rejection matching ${message}, got ${String(err)}`);
}

test('with history on, a read at an old version sees the value of that version', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  const key = keys.inode(42);
  const v1 = await kv.commit([put(key, 'one')]);
  const v2 = await kv.commit([put(key, 'two')]);
  const v3 = await kv.commit([put(keys.inode(43), 'unrelated')]);
  const v4 = await kv.commit([put(key, 'four')]);
  assert.is(text(await kv.get(key, v1 - 1)), undefined, 'absent before it was written');
  assert.is(text(await kv.get(key, v1)), 'one');
  assert.is(text(await kv.get(key, v2)), 'two');
  assert.is(text(await kv.get(key, v3)), 'two', 'a version between changes sees the older value');
  assert.is(text(await kv.get(key, v4)), 'four');
  assert.is(text(await kv.get(key)), 'four');
  assert.is(text(await kv.get(key, v4 + 10)), 'four', 'a version past the newest reads the newest');
});

test('a deleted key is absent after its deletion and present before it', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  const key = keys.dentry(1, 'gone.txt');
  const created = await kv.commit([put(key, 'entry')]);
  const deleted = await kv.commit([del(key)]);
  assert.is(text(await kv.get(key, created)), 'entry');
  assert.is(text(await kv.get(key, deleted)), undefined);
  assert.is(text(await kv.get(key)), undefined);
  const [start, end] = keys.dentryRange(1);
  assert.equal((await kv.scan(start, end, { atVersion: created })).map((e) => text(e.value)), ['entry']);
  assert.equal(await kv.scan(start, end, { atVersion: deleted }), []);
  const recreated = await kv.commit([put(key, 'again')]);
  assert.is(text(await kv.get(key, deleted)), undefined);
  assert.is(text(await kv.get(key, created)), 'entry');
  assert.is(text(await kv.get(key, recreated)), 'again');
});

test('a scan at a version merges live records and history in key order', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  const k = (name: string) => keys.dentry(7, name);
  await kv.commit([put(k('a-kept'), 'a0'), put(k('b-changed'), 'b0'), put(k('c-deleted'), 'c0')]);
  const pinned = kv.currentVersion();
  await kv.commit([put(k('b-changed'), 'b1'), del(k('c-deleted')), put(k('d-added'), 'd1')]);
  await kv.commit([put(k('b-changed'), 'b2'), put(k('0-added-first'), 'z')]);
  const [start, end] = keys.dentryRange(7);
  const past = await kv.scan(start, end, { atVersion: pinned });
  assert.equal(past.map((e) => [e.key.equals(k('a-kept')) ? 'a' : e.key.equals(k('b-changed')) ? 'b' : e.key.equals(k('c-deleted')) ? 'c' : '?', text(e.value), e.version]), [
    ['a', 'a0', 1],
    ['b', 'b0', 1],
    ['c', 'c0', 1],
  ]);
  assert.equal((await kv.scan(start, end, { atVersion: pinned, limit: 2 })).map((e) => text(e.value)), ['a0', 'b0'], 'limit counts merged records');
  assert.equal((await kv.scan(start, end, { atVersion: pinned + 1 })).map((e) => text(e.value)), ['a0', 'b1', 'd1']);
  assert.equal((await kv.scan(start, end)).map((e) => text(e.value)), ['z', 'a0', 'b2', 'd1']);
});

test('a scan at a version that starts just past a key does not return that key', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  await kv.commit([put(keys.dentry(9, 'a'), 'A'), put(keys.dentry(9, 'b'), 'B')]);
  const pinned = kv.currentVersion();
  await kv.commit([del(keys.dentry(9, 'a'))]); // 'a' now lives only in history
  const [start, end] = keys.dentryRange(9, 'a'); // a directory listing resuming after 'a'
  assert.equal((await kv.scan(start, end)).map((e) => text(e.value)), ['B'], 'live listing after a');
  assert.equal((await kv.scan(start, end, { atVersion: pinned })).map((e) => text(e.value)), ['B'], 'listing after a, as of the pinned version');
});

test('with history off, commits write no history records', async (ctx) => {
  const kv = ctx.kv!;
  const key = keys.inode(3);
  await kv.commit([put(key, 'a')]);
  await kv.commit([put(key, 'b')]);
  await kv.commit([del(key), put(keys.dentry(1, 'x'), 'y')]);
  await kv.commit([del(keys.dentry(1, 'x'))]);
  assert.equal(await rawSpace(ctx.raw!, 'h'), [], 'no h records');
  assert.equal(await rawSpace(ctx.raw!, 'e'), [], 'no e records');
  ctx.history.on = true;
  await kv.commit([put(keys.dentry(1, 'x'), 'z')]);
  await kv.commit([put(keys.dentry(1, 'x'), 'w')]);
  assert.is((await rawSpace(ctx.raw!, 'h')).length, 1, 'history on: the replaced record is kept');
  assert.is((await rawSpace(ctx.raw!, 'e')).length, 1);
});

test('records outside the namespace (queue, staged, pins, counters) never keep history', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  for (const key of [keys.gcQueue('blocks/v/1/2/0/0'), keys.staged('blocks/v/1/2/0/1'), keys.pin('p'), keys.counter('inode')]) {
    await kv.commit([put(key, '1')]);
    await kv.commit([put(key, '2')]);
    await kv.commit([del(key)]);
  }
  assert.equal(await rawSpace(ctx.raw!, 'h'), []);
});

test('the last mutation of a key in one commit wins, and history keys cannot be written', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  const key = keys.inode(8);
  await kv.commit([put(key, 'first'), put(key, 'second')]);
  assert.is(text(await kv.get(key)), 'second');
  await kv.commit([put(key, 'third'), del(key)]);
  assert.is(await kv.get(key), undefined);
  assert.is((await rawSpace(ctx.raw!, 'h')).length, 1, 'one history record for one replaced record');
  await expectCode(() => kv.commit([put(Buffer.from('hI'), 'x')]), 'EINVAL', 'writing an h key');
  await expectCode(() => kv.commit([put(Buffer.from('e1'), 'x')]), 'EINVAL', 'writing an e key');
});

test('reads at every retained version match a model of each version (property)', async (ctx) => {
  const kv = ctx.kv!;
  ctx.history.on = true;
  const names = ['a', 'ab', 'b', 'b\u00e9', 'c', 'd'];
  const opArb = fc.record({ name: fc.constantFrom(...names), value: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }) });
  const commitArb = fc.array(opArb, { minLength: 1, maxLength: 3 });
  let parent = 1000;
  await fc.assert(
    fc.asyncProperty(fc.array(commitArb, { minLength: 1, maxLength: 12 }), fc.constantFrom(undefined, ...names), async (commits, after) => {
      const dir = parent++;
      const model = new Map<string, string>();
      const states = new Map<number, Map<string, string>>([[kv.currentVersion(), new Map()]]);
      for (const ops of commits) {
        const mutations = ops.map(({ name, value }) => (value === undefined ? del(keys.dentry(dir, name)) : put(keys.dentry(dir, name), String(value))));
        for (const { name, value } of ops) {
          if (value === undefined) model.delete(name);
          else model.set(name, String(value));
        }
        states.set(await kv.commit(mutations), new Map(model));
      }
      const [start, end] = keys.dentryRange(dir, after);
      for (const [version, state] of states) {
        for (const name of names) {
          assert.is(text(await kv.get(keys.dentry(dir, name), version)), state.get(name), `get ${name} at ${version}`);
        }
        const expected = [...state.entries()]
          .filter(([name]) => after === undefined || Buffer.compare(Buffer.from(name), Buffer.from(after)) > 0)
          .sort(([x], [y]) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
          .map(([name, value]) => `${name}=${value}`);
        const scanned = (await kv.scan(start, end, { atVersion: version })).map((e) => `${e.key.toString('utf8', 9, e.key.length - 1)}=${text(e.value)}`);
        assert.equal(scanned, expected, `scan after ${after ?? '(start)'} at version ${version}`);
      }
    }),
    { numRuns: 60, seed: 1234567, includeErrorInReport: true },
  );
});

test.run();
