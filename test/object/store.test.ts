// One contract for every ObjectStore backend, run against the file backend, the metadata store
// (where write-back mode and a local object store stage small objects), s3rver and a real Ceph RADOS Gateway
// (test/helpers/ceph-rgw.ts), plus what only the file backend promises about its folder (atomic
// rename, no temp files shown).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IOError } from '../../src/errors.js';
import { RocksRawKV } from '../../src/meta/rocks.js';
import { VersionedKV } from '../../src/meta/versioned.js';
import { allocAligned } from '../../src/object/aligned-buffer.js';
import { FileObjectStore } from '../../src/object/file.js';
import { MetadataObjectStore } from '../../src/object/metadata-store.js';
import { openObjectStore } from '../../src/object/open.js';
import { getDigested, type ObjectInfo, type ObjectStore } from '../../src/object/store.js';
import { cephRgwSkipReason, startCephRgw } from '../helpers/ceph-rgw.js';
import { startS3rver } from '../helpers/s3rver.js';
import { referenceDigest } from '../helpers/reference-digest.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { expectError } from './expect.js';

/** A running backend that hands out stores which do not see each other's objects. */
interface Backend {
  makeStore(): Promise<ObjectStore>;
  /** How many objects the bulk delete test writes: s3rver pays one HTTP request per put. */
  bulkCount: number;
  stop(): Promise<void>;
}

async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) found.push(info);
  return found;
}

function contractSuite(name: string, startBackend: () => Promise<Backend>) {
  const test = suite<{ backend?: Backend; startError?: unknown; store?: ObjectStore }>(`${name} object store`, {});
  // uvu drops an error thrown by a `before` hook and reports the suite as passed with 0 tests run,
  // so a backend that fails to start fails every test instead (from `before.each`, which counts).
  test.before(async (ctx) => {
    ctx.backend = await startBackend().catch((err: unknown) => {
      ctx.startError = err;
      return undefined;
    });
  });
  test.after(async (ctx) => {
    await ctx.backend?.stop();
  });
  test.before.each(async (ctx) => {
    if (ctx.startError) throw ctx.startError;
    ctx.store = await ctx.backend!.makeStore();
  });
  test.after.each(async (ctx) => {
    await ctx.store?.close();
  });

  test('put then get returns the same bytes: binary, empty and 4 MiB bodies', async ({ store }) => {
    const bodies = {
      'blocks/v/1/binary': Buffer.from([0, 255, 10, 13, 0, 128, 1]),
      'blocks/v/1/empty': Buffer.alloc(0),
      'blocks/v/1/large': randomBytes(4 * 1024 * 1024),
    };
    for (const [key, body] of Object.entries(bodies)) await store!.put(key, body);
    for (const [key, body] of Object.entries(bodies)) {
      assert.ok((await store!.get(key)).equals(body), `body of ${key}`);
    }
  });

  test('a put accepts a Uint8Array view into a larger buffer and stores only the view', async ({ store }) => {
    const backing = Buffer.from('xxhello worldxx');
    await store!.put('view', new Uint8Array(backing.buffer, backing.byteOffset + 2, 11));
    assert.is((await store!.get('view')).toString(), 'hello world');
  });

  test('ranged get returns exactly the bytes asked for, clipped at the end of the object', async ({ store }) => {
    const body = randomBytes(1000);
    await store!.put('ranged', body);
    const read = (offset: number, length: number) => store!.get('ranged', { offset, length });
    assert.ok((await read(0, 100)).equals(body.subarray(0, 100)), 'start');
    assert.ok((await read(0, 1)).equals(body.subarray(0, 1)), 'first byte alone');
    assert.ok((await read(400, 250)).equals(body.subarray(400, 650)), 'middle');
    assert.ok((await read(900, 100)).equals(body.subarray(900)), 'end');
    assert.ok((await read(999, 1)).equals(body.subarray(999)), 'last byte alone');
    assert.ok((await read(950, 500)).equals(body.subarray(950)), 'past the end is clipped');
    assert.is((await read(1000, 10)).length, 0, 'starting at the end');
    assert.is((await read(5000, 10)).length, 0, 'starting past the end');
    assert.is((await read(10, 0)).length, 0, 'empty range');
  });

  test('a get into a buffer returns a view of it; a body too large for it comes back in a new one', async ({ store }) => {
    const large = randomBytes(4 * 1024 * 1024);
    const small = randomBytes(3000);
    await store!.put('into/large', large);
    await store!.put('into/small', small);
    await store!.put('into/empty', Buffer.alloc(0));
    const into = Buffer.alloc(4 * 1024 * 1024, 0xee);
    const whole = await store!.get('into/large', undefined, into);
    assert.ok(whole.equals(large), 'the whole 4 MiB object');
    const fitted = await store!.get('into/small', undefined, into);
    assert.ok(fitted.equals(small), 'a small object');
    assert.is(fitted.buffer, into.buffer, 'a body that fits is read into the buffer given');
    const ranged = await store!.get('into/large', { offset: 1_000_000, length: 70_000 }, into);
    assert.ok(ranged.equals(large.subarray(1_000_000, 1_070_000)), 'a range');
    assert.is((await store!.get('into/empty', undefined, into)).length, 0, 'an empty object');
    const tooSmall = Buffer.alloc(1000, 0xee);
    assert.ok((await store!.get('into/small', undefined, tooSmall)).equals(small), 'a body larger than the buffer');
    assert.ok(tooSmall.equals(Buffer.alloc(1000, 0xee)), 'a buffer too small is left alone');
    await expectError(store!.get('into/missing', undefined, into), 'ENOENT', 'into/missing');
    const reads = await Promise.all(Array.from({ length: 6 }, () => store!.get('into/large', undefined, Buffer.alloc(4 * 1024 * 1024))));
    for (const read of reads) assert.ok(read.equals(large), 'concurrent gets each get the whole object');
  });

  test('getDigested returns the whole object and its block digest, in the buffer given where it fits', async ({ store }) => {
    const bodies = { 'digested/block': randomBytes(4 * 1024 * 1024), 'digested/odd': randomBytes(4097), 'digested/empty': Buffer.alloc(0) };
    for (const [key, body] of Object.entries(bodies)) await store!.put(key, body);
    const into = Buffer.alloc(4 * 1024 * 1024);
    for (const [key, body] of Object.entries(bodies)) {
      const got = await getDigested(store!, key, into);
      assert.ok(got.bytes.equals(body), `body of ${key}`);
      assert.is(got.digestUri, await referenceDigest(body), `digest of ${key}`);
      if (body.length > 0) assert.is(got.bytes.buffer, into.buffer, `${key} is read into the buffer given`);
    }
    const tooSmall = Buffer.alloc(100);
    const large = await getDigested(store!, 'digested/odd', tooSmall);
    assert.ok(large.bytes.equals(bodies['digested/odd']), 'a body larger than the buffer comes back whole');
    assert.is(large.digestUri, await referenceDigest(bodies['digested/odd']), 'with its digest');
    await expectError(getDigested(store!, 'digested/missing', into), 'ENOENT', 'digested/missing');
  });

  test('get of a missing key fails with ENOENT naming the key', async ({ store }) => {
    await expectError(store!.get('blocks/missing/1'), 'ENOENT', 'blocks/missing/1');
    await expectError(store!.get('blocks/missing/2', { offset: 0, length: 10 }), 'ENOENT', 'blocks/missing/2');
    await expectError(store!.get('blocks/missing/3', { offset: 0, length: 0 }), 'ENOENT', 'blocks/missing/3');
  });

  test('head reports the size of a present object and null for an absent one', async ({ store }) => {
    await store!.put('h/present', Buffer.alloc(1234, 7));
    await store!.put('h/empty', Buffer.alloc(0));
    assert.equal(await store!.head('h/present'), { key: 'h/present', sizeBytes: 1234 });
    assert.equal(await store!.head('h/empty'), { key: 'h/empty', sizeBytes: 0 });
    assert.is(await store!.head('h/absent'), null);
    assert.is(await store!.head('h'), null, 'a folder part of keys is not an object');
  });

  test('delete removes existing objects and ignores keys that do not exist', async ({ store }) => {
    await store!.put('d/1', Buffer.from('one'));
    await store!.put('d/2', Buffer.from('two'));
    await store!.put('d/3', Buffer.from('three'));
    await store!.delete(['d/1', 'd/missing', 'd/3', 'never/was']);
    assert.equal((await listAll(store!, 'd/')).map((o) => o.key), ['d/2']);
    await expectError(store!.get('d/1'), 'ENOENT', 'd/1');
    await store!.delete([]);
    await store!.delete(['d/1']);
  });

  test('delete of more keys than one request takes removes them all', async ({ backend, store }) => {
    const keys = Array.from({ length: backend!.bulkCount }, (_, i) => `bulk/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store!.put(key, Buffer.from(key))));
    }
    assert.is((await listAll(store!, 'bulk/')).length, keys.length);
    await store!.delete([...keys, 'bulk/not-there']);
    assert.equal(await listAll(store!, 'bulk/'), []);
  });

  // Only characters above '/' here: s3rver walks its folders instead of sorting keys, so it puts
  // `a/b` before `a-c` where S3 does not. The file backend's test below covers those.
  test('list yields the objects under a prefix in key order with their sizes', async ({ store }) => {
    const keys = ['b', 'a/b', 'a0', 'aa', 'blocks/v/1/2', 'blocks/v/12/0', 'blocks/v/1/10', 'blocks/w'];
    for (const key of keys) await store!.put(key, Buffer.alloc(key.length));
    const sorted = [...keys].sort();
    assert.equal(await listAll(store!, ''), sorted.map((key) => ({ key, sizeBytes: key.length })));
    assert.equal((await listAll(store!, 'blocks/v/1')).map((o) => o.key), ['blocks/v/1/10', 'blocks/v/1/2', 'blocks/v/12/0']);
    assert.equal((await listAll(store!, 'blocks/v/1/')).map((o) => o.key), ['blocks/v/1/10', 'blocks/v/1/2']);
    assert.equal((await listAll(store!, 'a')).map((o) => o.key), ['a/b', 'a0', 'aa']);
    assert.equal(await listAll(store!, 'nothing/'), []);
  });

  test('keys that are not relative paths are rejected with EINVAL', async ({ store }) => {
    for (const key of ['', '/abs', '../escape', 'a/../../x', 'a//b', 'a/./b', 'a/', 'a\0b']) {
      await expectError(store!.put(key, Buffer.from('x')), 'EINVAL');
      await expectError(store!.get(key), 'EINVAL');
      await expectError(store!.head(key), 'EINVAL');
      await expectError(store!.delete(['fine', key]), 'EINVAL');
    }
    await expectError(listAll(store!, '../'), 'EINVAL');
    await expectError(store!.get('k', { offset: -1, length: 1 }), 'EINVAL', 'k');
  });

  test.run();
}

/** A backend whose stores each live in a fresh temporary folder. */
function folderBackend(bulkCount: number, openIn: (dir: string) => Promise<ObjectStore>): () => Promise<Backend> {
  return async () => {
    const dirs: string[] = [];
    return {
      bulkCount,
      async makeStore() {
        const dir = await makeTempDir('object-store');
        dirs.push(dir);
        return openIn(dir);
      },
      async stop() {
        await Promise.all(dirs.map(removeDir));
      },
    };
  };
}

contractSuite('file', folderBackend(1500, async (dir) => openObjectStore({ backend: 'file', root: dir })));

contractSuite('metadata (RocksDB)', folderBackend(3000, async (dir) => {
  const kv = await VersionedKV.open(await RocksRawKV.open(dir), () => false);
  // The store leaves the metadata store to its owner (the volume); here the test owns it.
  return Object.assign(new MetadataObjectStore(kv), { close: () => kv.close() });
}));

contractSuite('s3 (s3rver)', async () => {
  const s3rver = await startS3rver();
  let stores = 0;
  return {
    bulkCount: 1100,
    async makeStore() {
      return openObjectStore({
        backend: 'minio',
        bucket: s3rver.bucket,
        endpoint: s3rver.endpoint,
        credentials: s3rver.credentials,
        prefix: `store-${++stores}/`,
      });
    },
    stop: () => s3rver.stop(),
  };
});

const rgwSkipped = cephRgwSkipReason();
if (rgwSkipped) {
  console.log(`  (skipped the Ceph RGW object store contract: ${rgwSkipped})`);
} else {
  contractSuite('s3 (Ceph RGW)', async () => {
    const rgw = await startCephRgw();
    // Unique per run: a gateway CI started may be shared with other runs' objects.
    const run = `${process.pid}-${Date.now().toString(36)}`;
    let stores = 0;
    return {
      bulkCount: 1100,
      async makeStore() {
        return openObjectStore({
          backend: 's3',
          bucket: rgw.bucket,
          endpoint: rgw.endpoint,
          forcePathStyle: true,
          credentials: rgw.credentials,
          prefix: `store-${run}-${++stores}/`,
        });
      },
      stop: () => rgw.stop(),
    };
  });
}

const fileOnly = suite('file object store folder', {} as { root: string; store: FileObjectStore });
fileOnly.before.each(async (ctx) => {
  ctx.root = await makeTempDir('file-folder');
  ctx.store = new FileObjectStore(ctx.root);
});
fileOnly.after.each(async (ctx) => {
  await ctx.store.close();
  await removeDir(ctx.root);
});

fileOnly('an object lives at the path its key names and nothing else is left in its folder', async ({ root, store }) => {
  await store.put('blocks/v/1/2/0/0', Buffer.from('body'));
  assert.is(await readFile(join(root, 'blocks/v/1/2/0/0'), 'utf8'), 'body');
  assert.equal(await readdir(join(root, 'blocks/v/1/2/0')), ['0']);
});

fileOnly('a write in progress (a temp file) is never listed and its name cannot be a key', async ({ root, store }) => {
  await store.put('blocks/a', Buffer.from('a'));
  await writeFile(join(root, 'blocks', '.tmp-0123abcd'), 'half-written');
  assert.equal((await listAll(store, '')).map((o) => o.key), ['blocks/a']);
  await expectError(store.put('blocks/.tmp-x', Buffer.from('x')), 'EINVAL');
  await expectError(store.get('blocks/.tmp-0123abcd'), 'EINVAL');
});

fileOnly('getDigested of a key that names a folder, or runs through a file, fails with ENOENT naming the key', async ({ store }) => {
  await store.put('blocks/v/1/0', Buffer.from('body'));
  await expectError(getDigested(store, 'blocks/v/1', Buffer.alloc(4096)), 'ENOENT', 'blocks/v/1');
  await expectError(getDigested(store, 'blocks/v/1/0/under', Buffer.alloc(4096)), 'ENOENT', 'blocks/v/1/0/under');
});

// A crash then leaves nothing the caller's record does not lead cleanup to.
fileOnly('a put writes nothing, not even a temp file, until its ready resolves; a rejected ready writes nothing', async ({ root, store }) => {
  for (const bytes of [100, 1024 * 1024]) {
    let resolve!: () => void;
    const ready = new Promise<void>((done) => (resolve = done));
    const key = `r/${bytes}/0`;
    const put = store.put(key, randomBytes(bytes), ready);
    await new Promise((done) => setTimeout(done, 100));
    assert.not.ok((await readdir(root)).includes('r') && (await readdir(join(root, 'r'))).includes(String(bytes)), `${bytes} bytes: nothing before ready`);
    resolve();
    await put;
    assert.equal(await readdir(join(root, 'r', String(bytes))), ['0'], `${bytes} bytes: the object alone after ready`);
    await expectError(store.put(`r/${bytes}/1`, randomBytes(bytes), Promise.reject(IOError('the record failed'))), 'EIO', 'the record failed');
    assert.equal(await readdir(join(root, 'r', String(bytes))), ['0'], `${bytes} bytes: nothing after a rejected ready`);
  }
});

fileOnly('many concurrent puts into one folder all land whole', async ({ root, store }) => {
  const bodies = Array.from({ length: 64 }, (_, i) => randomBytes(1000 + i));
  await Promise.all(bodies.map((body, i) => store.put(`c/${i}`, body)));
  for (const [i, body] of bodies.entries()) assert.ok((await store.get(`c/${i}`)).equals(body));
  assert.is((await readdir(join(root, 'c'))).length, 64, 'no temp files left');
});

// Seen in the extent map: ext4 keeps the blocks of data only the page cache holds unallocated
// ("delalloc") until writeback.
fileOnly('a larger object reaches the disk soon after its put, without an fsync; with flush-behind off it waits in the page cache', async ({ root, store }) => {
  const run = promisify(execFile);
  const onlyCached = async (key: string) => (await run('filefrag', ['-v', join(root, key)])).stdout.includes('delalloc');
  const unflushed = new FileObjectStore(root, { flushBehind: false });
  try {
    await unflushed.put('kept/0', randomBytes(1024 * 1024));
    if (!(await onlyCached('kept/0'))) {
      console.log('  (skipped the flush-behind check: this file system shows no delayed allocation)');
      return;
    }
    await store.put('flushed/0', randomBytes(1024 * 1024));
    for (let waitedMs = 0; await onlyCached('flushed/0'); waitedMs += 50) {
      if (waitedMs > 5000) assert.unreachable('the object was still only in the page cache 5 s after its put');
      await sleep(50);
    }
    assert.ok(await onlyCached('kept/0'), 'with flush-behind off, the object is still only in the page cache');
  } finally {
    await unflushed.close();
  }
});

// Flush-behind is an early start only: it must not fail, hold up or change anything a caller does next.
fileOnly('larger objects deleted at once or closed right after their puts: the flushes behind them break nothing', async (ctx) => {
  const bodies = Array.from({ length: 8 }, () => randomBytes(1024 * 1024));
  for (const [i, body] of bodies.entries()) {
    await ctx.store.put(`big/${i}`, body);
    if (i % 2 === 0) await ctx.store.delete([`big/${i}`]);
  }
  await ctx.store.persist(bodies.map((_, i) => `big/${i}`).filter((_, i) => i % 2 === 1));
  await ctx.store.close();
  ctx.store = new FileObjectStore(ctx.root);
  assert.equal((await listAll(ctx.store, 'big/')).map((o) => o.key), ['big/1', 'big/3', 'big/5', 'big/7']);
  for (const i of [1, 3, 5, 7]) assert.ok((await ctx.store.get(`big/${i}`)).equals(bodies[i]!), `big/${i} reads back whole`);
  assert.equal((await readdir(join(ctx.root, 'big'))).sort(), ['1', '3', '5', '7'], 'no temp files left');
});

fileOnly('persist syncs what exists, fails naming the key of a missing object, and takes 64 or more keys at once', async ({ store }) => {
  const keys = Array.from({ length: 70 }, (_, i) => `p/${i % 7}/${i}`);
  for (const key of keys) await store.put(key, randomBytes(100));
  await store.persist(keys.slice(0, 3));
  await store.persist(keys);
  const failure = await store.persist(['p/0/0', 'p/9/missing']).then(() => null, (err: unknown) => err as Error & { code: string });
  assert.ok(failure, 'persist of a missing object fails');
  assert.is(failure!.code, 'EIO');
  assert.match(failure!.message, /syncing object p\/9\/missing in file:.*ENOENT/);
});

// fincore shows what of a file the page cache holds: a direct write leaves nothing there.
fileOnly('a whole block in a page-aligned buffer is written past the page cache; any other body goes through it', async ({ root, store }) => {
  const run = promisify(execFile);
  const cachedBytes = async (key: string) => Number((await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', join(root, key)])).stdout.trim());
  const aligned = allocAligned(1024 * 1024);
  randomBytes(aligned.length).copy(aligned);
  const unaligned = randomBytes(1024 * 1024);
  await store.put('direct/0', aligned);
  await store.put('cached/0', unaligned);
  await store.put('short/0', aligned.subarray(0, aligned.length - 512));
  assert.is(await cachedBytes('direct/0'), 0, 'the aligned block is not in the page cache');
  assert.is(await cachedBytes('cached/0'), unaligned.length, 'an unaligned buffer is');
  assert.is(await cachedBytes('short/0'), aligned.length, 'so is a length that is not a whole number of pages (its last page in part)');
  assert.ok((await store.get('direct/0')).equals(aligned));
  assert.ok((await store.get('short/0')).equals(aligned.subarray(0, aligned.length - 512)));
  assert.equal(await readdir(join(root, 'direct')), ['0'], 'no temp file left');
});

fileOnly('on a file system that refuses O_DIRECT (ramfs) aligned blocks are stored through the page cache', async ({ root }) => {
  const run = promisify(execFile);
  const ram = join(root, 'ram');
  await mkdir(ram);
  try {
    await run('mount', ['-t', 'ramfs', 'ramfs', ram]);
  } catch {
    console.log('  (skipped the O_DIRECT fallback check: mounting a ramfs needs root)');
    return;
  }
  const onRam = new FileObjectStore(ram);
  try {
    const blocks = [allocAligned(1024 * 1024), allocAligned(1024 * 1024)];
    for (const block of blocks) randomBytes(block.length).copy(block);
    for (const [i, block] of blocks.entries()) await onRam.put(`b/${i}`, block);
    for (const [i, block] of blocks.entries()) assert.ok((await onRam.get(`b/${i}`)).equals(block), `b/${i} reads back whole`);
    assert.equal((await readdir(join(ram, 'b'))).sort(), ['0', '1'], 'no temp files left');
  } finally {
    await onRam.close();
    await run('umount', [ram]);
  }
});

fileOnly('a folder where an object should be reads as a missing object', async ({ root, store }) => {
  await mkdir(join(root, 'dir'));
  await expectError(store.get('dir'), 'ENOENT', 'dir');
  await expectError(store.get('dir', { offset: 0, length: 0 }), 'ENOENT', 'dir');
  await store.delete(['dir']);
  assert.equal(await readdir(root), ['dir'], 'delete removes objects only');
});

fileOnly('list orders keys by their bytes as S3 does, even across folders', async ({ store }) => {
  for (const key of ['a/b', 'a-c', 'a.d', 'a0', 'a!/x']) await store.put(key, Buffer.from(key));
  assert.equal((await listAll(store, '')).map((o) => o.key), ['a!/x', 'a-c', 'a.d', 'a/b', 'a0']);
});

fileOnly('list of a folder larger than its look-ahead keeps key order and sizes, nested folders and loose objects mixed', async ({ store }) => {
  const keys: string[] = [];
  // 40 inode folders with 1 to 5 objects each, in two generations, and loose objects among them.
  for (let ino = 1; ino <= 40; ino++) {
    for (let block = 0; block < 1 + (ino % 5); block++) keys.push(`blocks/v/${ino}/${1 + (block % 2)}/0/${block}`);
    if (ino % 7 === 0) keys.push(`blocks/v/${ino}-loose`);
  }
  await Promise.all(keys.map((key, i) => store.put(key, Buffer.alloc(i % 13))));
  const sizes = new Map(keys.map((key, i) => [key, i % 13]));
  const ordered = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.equal(await listAll(store, 'blocks/'), ordered.map((key) => ({ key, sizeBytes: sizes.get(key) })));
  assert.equal((await listAll(store, 'blocks/v/3')).map((o) => o.key), ordered.filter((key) => key.startsWith('blocks/v/3')));
  const firstThree: string[] = [];
  for await (const info of store.list('blocks/v/')) {
    firstThree.push(info.key);
    if (firstThree.length === 3) break;
  }
  assert.equal(firstThree, ordered.slice(0, 3), 'a listing stopped early yields what it had');
  await store.delete(ordered.slice(0, 10));
  assert.equal((await listAll(store, 'blocks/')).map((o) => o.key), ordered.slice(10));
});

fileOnly('a full disk fails the put with ENOSPC naming the key and leaves no temp file', async ({ root }) => {
  const run = promisify(execFile);
  const small = join(root, 'small');
  await mkdir(small);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
  } catch {
    console.log('  (skipped the ENOSPC check: mounting a tmpfs needs root)');
    return;
  }
  try {
    const full = new FileObjectStore(small);
    await expectError(full.put('blocks/big', randomBytes(1024 * 1024)), 'ENOSPC', 'blocks/big');
    assert.equal(await readdir(join(small, 'blocks')), []);
    await full.put('blocks/tiny', Buffer.from('fits'));
    assert.is((await full.get('blocks/tiny')).toString(), 'fits');
  } finally {
    await run('umount', [small]);
  }
});

fileOnly.run();

const metadataOnly = suite('metadata object store', {} as { dir: string; kv: VersionedKV; writes: number; store: MetadataObjectStore });
metadataOnly.before.each(async (ctx) => {
  ctx.dir = await makeTempDir('metadata-store');
  ctx.writes = 0;
  const raw = await RocksRawKV.open(ctx.dir);
  const write = raw.write.bind(raw);
  raw.write = (mutations, options) => {
    ctx.writes += 1;
    return write(mutations, options);
  };
  ctx.kv = await VersionedKV.open(raw, () => false);
  ctx.store = new MetadataObjectStore(ctx.kv);
});
metadataOnly.after.each(async (ctx) => {
  await ctx.kv.close();
  await removeDir(ctx.dir);
});

metadataOnly('deletes asked for at once share commits, and each caller learns when its key is gone', async (ctx) => {
  const { store } = ctx;
  const keys = Array.from({ length: 32 }, (_, i) => `d/${i}`);
  for (const key of keys) await store.put(key, Buffer.from(key));
  const before = ctx.writes;
  await Promise.all(keys.map(async (key) => {
    await store.delete([key]);
    assert.is(await store.head(key), null, `${key} is gone when its delete returns`);
  }));
  assert.ok(ctx.writes - before <= 2, `32 deletes took ${ctx.writes - before} commits`);
  assert.equal(await listAll(store, ''), []);
  await expectError(store.delete(['d/../x']), 'EINVAL');
});

metadataOnly.run();
