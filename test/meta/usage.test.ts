// The volume's usage counters (inodes, files, directories, bytes in files), which statfs and
// `strata status` read without a scan: after any mix of operations they equal a count of every
// inode, they survive a reopen, and a volume made before they existed gets them counted once.

import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StrataError } from '../../src/errors.js';
import { keys } from '../../src/meta/keys.js';
import type { Caller } from '../../src/meta/namespace.js';
import { ROOT_INO } from '../../src/meta/records.js';
import { countUsage, storedUsage } from '../../src/meta/usage.js';
import type { Volume } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';

const owner: Caller = { uid: 0, gid: 0 };
const NAMES = ['a', 'b', 'c', 'd'];

type Step =
  | { op: 'create' | 'mkdir' | 'symlink' | 'unlink' | 'rmdir'; dir: number; name: string }
  | { op: 'write'; dir: number; name: string; offset: number; bytes: number }
  | { op: 'truncate'; dir: number; name: string; size: number }
  | { op: 'link' | 'rename'; dir: number; name: string; toDir: number; toName: string }
  | { op: 'unlink-while-open'; dir: number; name: string };

const nameArb = fc.constantFrom(...NAMES);
const dirArb = fc.integer({ min: 0, max: 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('create' as const, 'mkdir' as const, 'symlink' as const, 'unlink' as const, 'rmdir' as const), dir: dirArb, name: nameArb }),
  fc.record({ op: fc.constant('write' as const), dir: dirArb, name: nameArb, offset: fc.integer({ min: 0, max: 9_000_000 }), bytes: fc.integer({ min: 1, max: 70_000 }) }),
  fc.record({ op: fc.constant('truncate' as const), dir: dirArb, name: nameArb, size: fc.integer({ min: 0, max: 5_000_000 }) }),
  fc.record({ op: fc.constantFrom('link' as const, 'rename' as const), dir: dirArb, name: nameArb, toDir: dirArb, toName: nameArb }),
  fc.record({ op: fc.constant('unlink-while-open' as const), dir: dirArb, name: nameArb }),
);

/**
 * Applies `step` under the directories `dirs`: true if it was done, false if it failed as a file
 * system may (ENOENT, EEXIST, ENOTEMPTY, ...).
 */
async function apply(volume: Volume, dirs: number[], step: Step): Promise<boolean> {
  const ns = volume.namespace;
  const dir = dirs[step.dir]!;
  const inoOf = async () => (await ns.lookup(dir, step.name)).ino;
  try {
    switch (step.op) {
      case 'create':
        await ns.create(dir, step.name, 0o644, owner);
        break;
      case 'mkdir':
        await ns.mkdir(dir, step.name, 0o755, owner);
        break;
      case 'symlink':
        await ns.symlink(dir, step.name, 'target/of/some/length', owner);
        break;
      case 'unlink':
        await ns.unlink(dir, step.name);
        break;
      case 'rmdir':
        await ns.rmdir(dir, step.name);
        break;
      case 'write':
      case 'truncate': {
        const ino = await inoOf();
        const body = await volume.files.acquire(ino);
        try {
          if (step.op === 'write') body.write(step.offset, Buffer.alloc(step.bytes, 7));
          else await body.truncate(step.size);
        } finally {
          await volume.files.release(ino);
        }
        break;
      }
      case 'link':
        await ns.link(await inoOf(), dirs[step.toDir]!, step.toName);
        break;
      case 'rename':
        await ns.rename(dir, step.name, dirs[step.toDir]!, step.toName);
        break;
      case 'unlink-while-open': {
        const ino = await inoOf();
        await volume.files.acquire(ino);
        try {
          await ns.unlink(dir, step.name);
          // still open: counted until its last release, as ext4 keeps its blocks
          assert.equal(await ns.usage(), await countUsage(volume.kv));
        } finally {
          await volume.files.release(ino);
        }
        break;
      }
    }
    return true;
  } catch (err) {
    if (!(err instanceof StrataError) || err.code === 'EIO') throw err;
    return false;
  }
}

/** A file named `name` in `dir` with `bytes` in it. */
async function makeFile(volume: Volume, dir: number, name: string, bytes: number): Promise<void> {
  const file = await volume.namespace.create(dir, name, 0o644, owner);
  const body = await volume.files.acquire(file.ino);
  body.write(0, Buffer.alloc(bytes, 1));
  await volume.files.release(file.ino);
}

const test = suite<{ tv?: TestVolume }>('usage counters', {});

test.after.each(async (context) => {
  await context.tv?.cleanup();
  context.tv = undefined;
});

test('after any mix of creates, writes, truncates, links, renames and removals the counters equal a count of every inode', async (context) => {
  const tv = (context.tv = await openTestVolume('file'));
  const volume = tv.volume;
  let run = 0;
  const done = new Map<Step['op'], number>();
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 10, maxLength: 40 }), async (steps) => {
      run += 1;
      const top = await volume.namespace.mkdir(ROOT_INO, `run-${run}`, 0o755, owner);
      const sub = await volume.namespace.mkdir(top.ino, 'sub', 0o755, owner);
      await makeFile(volume, top.ino, 'a', 5000);
      await makeFile(volume, sub.ino, 'b', 70_000);
      await volume.namespace.mkdir(top.ino, 'c', 0o755, owner);
      for (const step of steps) {
        if (await apply(volume, [top.ino, sub.ino], step)) done.set(step.op, (done.get(step.op) ?? 0) + 1);
        assert.equal(await volume.namespace.usage(), await countUsage(volume.kv), JSON.stringify(step));
      }
    }),
    { numRuns: 60 },
  );
  for (const op of ['create', 'mkdir', 'symlink', 'unlink', 'rmdir', 'write', 'truncate', 'link', 'rename', 'unlink-while-open'] as const) {
    assert.ok((done.get(op) ?? 0) > 0, `no ${op} succeeded: ${JSON.stringify([...done])}`);
  }
  assert.equal(await storedUsage(volume.kv), await countUsage(volume.kv));
});

test('the counters survive a reopen; a volume without them gets them counted once, at open', async (context) => {
  const tv = (context.tv = await openTestVolume('file'));
  const ns = tv.volume.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'docs', 0o755, owner);
  for (const name of ['one', 'two', 'three']) {
    const file = await ns.create(dir.ino, name, 0o644, owner);
    const body = await tv.volume.files.acquire(file.ino);
    body.write(0, Buffer.alloc(100_000 * name.length, 1));
    await tv.volume.files.release(file.ino);
  }
  await ns.symlink(dir.ino, 'link', 'one', owner);
  const expected = { inodes: 6, files: 3, directories: 2, fileBytes: 1_100_000 };
  assert.equal(await ns.usage(), expected);

  const reopened = await tv.reopen();
  assert.equal(await reopened.namespace.usage(), expected);

  // as a volume made before the counters existed
  await reopened.kv.commit([{ type: 'del', key: keys.counter('usage') }]);
  assert.is(await storedUsage(reopened.kv), undefined);
  const upgraded = await tv.reopen();
  assert.equal(await storedUsage(upgraded.kv), expected);
  assert.equal(await upgraded.namespace.usage(), expected);
  await upgraded.namespace.unlink(dir.ino, 'two');
  assert.equal(await upgraded.namespace.usage(), { inodes: 5, files: 2, directories: 2, fileBytes: 800_000 });
});

test.run();
