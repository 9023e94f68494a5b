// RocksDB under the metadata store: writes that need not sync are made on the calling thread by the
// addon of scripts/rocksdb-write, survive a crash of the process, and fall back to the thread pool
// when RocksDB refuses them there.

import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mutation } from '../../src/meta/kv.js';
import { RocksRawKV } from '../../src/meta/rocks.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const put = (key: string, value: Buffer): Mutation => ({ type: 'put', key: Buffer.from(key), value });
const del = (key: string): Mutation => ({ type: 'del', key: Buffer.from(key) });

interface Ctx {
  dir?: string;
  raw?: RocksRawKV;
}

const test = suite<Ctx>('rocksdb writes');

test.before.each(async (ctx) => {
  ctx.dir = await makeTempDir('rocks');
  ctx.raw = await RocksRawKV.open(ctx.dir);
});
test.after.each(async (ctx) => {
  await ctx.raw?.close().catch(() => undefined);
  if (ctx.dir) await removeDir(ctx.dir);
});

test('writes that need not sync are made on the calling thread; synced ones by the pool', async (ctx) => {
  const raw = ctx.raw!;
  assert.ok(raw.writesImmediately, 'the addon is not in use: run node scripts/rocksdb-write/build.mjs');
  await raw.write([put('a', Buffer.from('one')), put('b', Buffer.from('two'))], { sync: false });
  await raw.write([del('a'), put('c', Buffer.from('three'))], { sync: false });
  await raw.write([put('d', Buffer.from('four'))], { sync: true });
  assert.equal(raw.immediateWrites, { made: 2, refused: 0 });
  assert.is(await raw.get(Buffer.from('a')), undefined);
  assert.equal((await raw.range(Buffer.from('a'), Buffer.from('z'))).map((e) => `${e.key}=${e.value}`), ['b=two', 'c=three', 'd=four']);
});

test('a write made on the calling thread survives a SIGKILL of its process', async (ctx) => {
  const dir = ctx.dir!;
  await ctx.raw!.close();
  ctx.raw = undefined;
  const rocksModule = new URL('../../src/meta/rocks.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { RocksRawKV } = await import(${JSON.stringify(rocksModule)});
       const raw = await RocksRawKV.open(process.argv[1]);
       for (let i = 0; i < 200; i++) {
         const batch = [{ type: 'put', key: Buffer.from('k' + i), value: Buffer.alloc(100 + i, i) }];
         if (i > 0) batch.push({ type: 'del', key: Buffer.from('k' + (i - 1)) });
         await raw.write(batch, { sync: false });
       }
       process.stdout.write(JSON.stringify(raw.immediateWrites) + '\\n', () => process.kill(process.pid, 'SIGKILL'));`,
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.is(signal, 'SIGKILL', `the writer did not end by SIGKILL: ${err}`);
  assert.equal(JSON.parse(out), { made: 200, refused: 0 });
  ctx.raw = await RocksRawKV.open(dir);
  const left = await ctx.raw.range(Buffer.from('k'), Buffer.from('l'));
  assert.equal(left.map((e) => e.key.toString()), ['k199']);
  assert.ok(left[0]!.value.equals(Buffer.alloc(299, 199)), 'the last batch read back wrong after the crash');
});

test('a write refused on the calling thread during a write stall is made by the pool', async (ctx) => {
  const raw = ctx.raw!;
  const valueOf = (i: number) => Buffer.alloc(256 * 1024, i % 251);
  // Memtables fill faster than RocksDB flushes them: here it refused one within 24-40 MiB.
  const writes: Promise<void>[] = [];
  let count = 0;
  while (raw.immediateWrites.refused === 0 && count < 2000) writes.push(raw.write([put(`k${String(count).padStart(5, '0')}`, valueOf(count++))], { sync: false }));
  await Promise.all(writes);
  assert.ok(raw.immediateWrites.refused > 0, `no write was refused in ${count} writes of 256 KiB`);
  const stored = await raw.range(Buffer.from('k'), Buffer.from('l'));
  assert.is(stored.length, count);
  stored.forEach((entry, i) => assert.ok(entry.value.equals(valueOf(i)), `value ${i} read back wrong`));
});

test('a write after close is an error, not a crash', async (ctx) => {
  const raw = ctx.raw!;
  await raw.close();
  ctx.raw = undefined;
  const failure = await raw.write([put('late', Buffer.from('x'))], { sync: false }).then(() => null, (err: Error) => err);
  assert.ok(failure, 'a write after close succeeded');
  assert.match(failure!.message, /metadata commit failed: .*not open/);
});

test.run();
