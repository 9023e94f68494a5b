// The namespace operations on a real volume (RocksDB + file objects): results and error codes as
// ext4 gives them, link counts, ownership rules, extended attributes, paged listings, and the GC
// queue records an operation that drops a body writes in the same commit.

import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StrataError } from '../../src/errors.js';
import { stackedEntries } from '../../src/layout/manifest.js';
import { loadManifests } from '../../src/meta/body-records.js';
import { keys, parseKey } from '../../src/meta/keys.js';
import type { RawKV } from '../../src/meta/kv.js';
import { CAPABILITY_XATTR, XATTR_CREATE, XATTR_REPLACE, type Caller } from '../../src/meta/namespace.js';
import { ROOT_INO, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISGID, S_ISUID } from '../../src/meta/records.js';
import type { Volume } from '../../src/volume.js';
import { openTestVolume, type TestVolume } from '../helpers/volume.js';
import { expectCode } from './expect-code.js';

const root: Caller = { uid: 0, gid: 0 };
const alice: Caller = { uid: 1000, gid: 1000 };
const bob: Caller = { uid: 1001, gid: 1001 };

async function writeFile(volume: Volume, ino: number, content: Buffer): Promise<void> {
  const body = await volume.files.acquire(ino);
  body.write(0, content);
  await volume.files.release(ino);
}

async function readFile(volume: Volume, ino: number): Promise<Buffer> {
  const body = await volume.files.acquire(ino);
  try {
    return await body.read(0, body.sizeBytes);
  } finally {
    await volume.files.release(ino);
  }
}

async function objectKeysOf(volume: Volume, ino: number): Promise<string[]> {
  const found: string[] = [];
  for (const manifest of (await loadManifests(volume.kv, ino)).values()) found.push(...stackedEntries(manifest).map((e) => e.objectKey));
  return found.sort();
}

async function queued(volume: Volume): Promise<string[]> {
  const [start, end] = keys.spaceRange('Q');
  return (await volume.kv.scan(start, end)).map((e) => parseKey.objectKey(e.key)).sort();
}

const test = suite<{ tv?: TestVolume; volume?: Volume }>('namespace', {});

test.before.each(async (ctx) => {
  ctx.tv = await openTestVolume('file', { owner: root });
  ctx.volume = ctx.tv.volume;
});
test.after.each(async (ctx) => {
  await ctx.tv?.cleanup();
});

test('create makes a regular file owned by the caller; creating the name again is EEXIST', async ({ volume }) => {
  const ns = volume!.namespace;
  const file = await ns.create(ROOT_INO, 'a.txt', 0o640, alice);
  const attr = await ns.getattr(file.ino);
  assert.is(attr.mode, S_IFREG | 0o640);
  assert.is(attr.nlink, 1);
  assert.is(attr.uid, alice.uid);
  assert.is(attr.gid, alice.gid);
  assert.is(attr.sizeBytes, 0);
  assert.equal(await ns.lookup(ROOT_INO, 'a.txt'), { ino: file.ino, type: 'file' });
  assert.is((await ns.resolve('/a.txt')).ino, file.ino);
  await expectCode(() => ns.create(ROOT_INO, 'a.txt', 0o644, alice), 'EEXIST', 'create over a file');
  await expectCode(() => ns.mkdir(ROOT_INO, 'a.txt', 0o755, alice), 'EEXIST', 'mkdir over a file');
  await expectCode(() => ns.symlink(ROOT_INO, 'a.txt', 'x', alice), 'EEXIST', 'symlink over a file');
  await expectCode(() => ns.create(file.ino, 'child', 0o644, alice), 'ENOTDIR', 'create inside a file');
});

test('lookup and resolve of a missing name are ENOENT; a path through a file is ENOTDIR', async ({ volume }) => {
  const ns = volume!.namespace;
  await ns.create(ROOT_INO, 'file', 0o644, root);
  await expectCode(() => ns.lookup(ROOT_INO, 'missing'), 'ENOENT');
  await expectCode(() => ns.resolve('/missing/x'), 'ENOENT');
  await expectCode(() => ns.resolve('/file/x'), 'ENOTDIR');
  await expectCode(() => ns.getattr(9999), 'ENOENT');
});

// The kernel asks for missing names and missing attributes all the time: those answers skip the stack.
test('ENOENT and ENODATA come without a stack; other errors keep theirs', async ({ volume }) => {
  const ns = volume!.namespace;
  const failure = async (call: () => Promise<unknown>): Promise<StrataError> => {
    try {
      await call();
    } catch (err) {
      if (err instanceof StrataError) return err;
      throw err;
    }
    return assert.unreachable('the call failed') as never;
  };
  await ns.create(ROOT_INO, 'file', 0o644, root);
  const file = await ns.lookup(ROOT_INO, 'file');
  for (const [err, code] of [[await failure(() => ns.lookup(ROOT_INO, 'missing')), 'ENOENT'], [await failure(() => ns.getxattr(file.ino, 'security.capability')), 'ENODATA']] as const) {
    assert.is(err.code, code);
    assert.ok(err.message.length > 0, `${code} says what is missing`);
    assert.not.match(err.stack ?? '', /\n\s+at /, `${code} has no stack frames`);
  }
  const exists = await failure(() => ns.create(ROOT_INO, 'file', 0o644, root));
  assert.is(exists.code, 'EEXIST');
  assert.match(exists.stack ?? '', /\n\s+at /, 'EEXIST keeps its stack');
  assert.ok(Error.stackTraceLimit > 0, 'the stack trace limit is restored');
});

test('a 255-byte name is accepted and a 256-byte name is ENAMETOOLONG', async ({ volume }) => {
  const ns = volume!.namespace;
  const longest = 'n'.repeat(255);
  const multibyte = '\u00e9'.repeat(127) + 'x'; // 255 bytes in UTF-8
  const tooLong = 'n'.repeat(256);
  const tooLongMultibyte = '\u00e9'.repeat(128); // 128 characters, 256 bytes
  const file = await ns.create(ROOT_INO, longest, 0o644, root);
  assert.is((await ns.lookup(ROOT_INO, longest)).ino, file.ino);
  await ns.mkdir(ROOT_INO, multibyte, 0o755, root);
  assert.is((await ns.readdir(ROOT_INO)).length, 2);
  await expectCode(() => ns.create(ROOT_INO, tooLong, 0o644, root), 'ENAMETOOLONG', 'create');
  await expectCode(() => ns.mkdir(ROOT_INO, tooLongMultibyte, 0o755, root), 'ENAMETOOLONG', 'mkdir, multibyte');
  await expectCode(() => ns.lookup(ROOT_INO, tooLong), 'ENAMETOOLONG', 'lookup');
  await expectCode(() => ns.symlink(ROOT_INO, tooLong, 'x', root), 'ENAMETOOLONG', 'symlink');
  await expectCode(() => ns.link(file.ino, ROOT_INO, tooLong), 'ENAMETOOLONG', 'link');
  await expectCode(() => ns.rename(ROOT_INO, longest, ROOT_INO, tooLong), 'ENAMETOOLONG', 'rename');
  assert.is((await ns.lookup(ROOT_INO, longest)).ino, file.ino, 'the failed rename left the file in place');
});

test('mkdir and rmdir; rmdir of a non-empty directory is ENOTEMPTY and of a file ENOTDIR', async ({ volume }) => {
  const ns = volume!.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'd', 0o750, alice);
  const attr = await ns.getattr(dir.ino);
  assert.is(attr.mode, S_IFDIR | 0o750);
  assert.is(attr.nlink, 2);
  assert.equal(await ns.lookup(ROOT_INO, 'd'), { ino: dir.ino, type: 'dir' });
  await ns.create(dir.ino, 'f', 0o644, alice);
  await expectCode(() => ns.rmdir(ROOT_INO, 'd'), 'ENOTEMPTY');
  await expectCode(() => ns.rmdir(dir.ino, 'f'), 'ENOTDIR');
  await expectCode(() => ns.rmdir(ROOT_INO, 'missing'), 'ENOENT');
  await ns.unlink(dir.ino, 'f');
  await ns.rmdir(ROOT_INO, 'd');
  await expectCode(() => ns.lookup(ROOT_INO, 'd'), 'ENOENT');
  await expectCode(() => ns.getattr(dir.ino), 'ENOENT', 'the removed directory inode is gone');
  await expectCode(() => ns.create(dir.ino, 'late', 0o644, alice), 'ENOENT', 'create in a removed directory');
});

test('unlink of a directory is EISDIR; unlink of a missing name is ENOENT', async ({ volume }) => {
  const ns = volume!.namespace;
  await ns.mkdir(ROOT_INO, 'd', 0o755, root);
  await expectCode(() => ns.unlink(ROOT_INO, 'd'), 'EISDIR');
  await expectCode(() => ns.unlink(ROOT_INO, 'missing'), 'ENOENT');
  assert.is((await ns.lookup(ROOT_INO, 'd')).type, 'dir');
});

test('rename over a file replaces it in one step and queues the old body for GC', async ({ volume }) => {
  const ns = volume!.namespace;
  const source = await ns.create(ROOT_INO, 'new', 0o644, root);
  const target = await ns.create(ROOT_INO, 'old', 0o644, root);
  await writeFile(volume!, source.ino, Buffer.from('new contents'));
  await writeFile(volume!, target.ino, Buffer.alloc(5 * 1024 * 1024, 7));
  const targetObjects = await objectKeysOf(volume!, target.ino);
  assert.is(targetObjects.length, 2);
  assert.equal(await queued(volume!), []);
  await ns.rename(ROOT_INO, 'new', ROOT_INO, 'old');
  assert.equal(await ns.lookup(ROOT_INO, 'old'), { ino: source.ino, type: 'file' });
  await expectCode(() => ns.lookup(ROOT_INO, 'new'), 'ENOENT');
  await expectCode(() => ns.getattr(target.ino), 'ENOENT', 'the replaced inode is gone');
  assert.equal(await queued(volume!), targetObjects, 'its objects are queued');
  assert.is((await readFile(volume!, source.ino)).toString(), 'new contents');
});

test('rename over an open file keeps its body readable until the last release', async ({ volume }) => {
  const ns = volume!.namespace;
  const source = await ns.create(ROOT_INO, 'src', 0o644, root);
  const target = await ns.create(ROOT_INO, 'dst', 0o644, root);
  await writeFile(volume!, target.ino, Buffer.from('still here'));
  const targetObjects = await objectKeysOf(volume!, target.ino);
  const open = await volume!.files.acquire(target.ino);
  await ns.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
  assert.is((await ns.lookup(ROOT_INO, 'dst')).ino, source.ino);
  assert.is((await ns.getattr(target.ino)).nlink, 0, 'the open inode lives on with no links');
  assert.is((await open.read(0, 100)).toString(), 'still here');
  assert.equal(await queued(volume!), [], 'nothing is queued while it is open');
  await volume!.files.release(target.ino);
  await expectCode(() => ns.getattr(target.ino), 'ENOENT', 'the last release retires the inode');
  assert.equal(await queued(volume!), targetObjects);
});

test('rename of a directory over an empty directory replaces it', async ({ volume }) => {
  const ns = volume!.namespace;
  const moved = await ns.mkdir(ROOT_INO, 'moved', 0o755, root);
  const child = await ns.create(moved.ino, 'child', 0o644, root);
  const empty = await ns.mkdir(ROOT_INO, 'empty', 0o755, root);
  assert.is((await ns.getattr(ROOT_INO)).nlink, 4);
  await ns.rename(ROOT_INO, 'moved', ROOT_INO, 'empty');
  assert.equal(await ns.lookup(ROOT_INO, 'empty'), { ino: moved.ino, type: 'dir' });
  assert.is((await ns.resolve('/empty/child')).ino, child.ino);
  await expectCode(() => ns.lookup(ROOT_INO, 'moved'), 'ENOENT');
  await expectCode(() => ns.getattr(empty.ino), 'ENOENT', 'the replaced directory is gone');
  assert.is((await ns.getattr(ROOT_INO)).nlink, 3, 'the root lost one subdirectory');
});

test('rename of a directory over a non-empty directory is ENOTEMPTY', async ({ volume }) => {
  const ns = volume!.namespace;
  await ns.mkdir(ROOT_INO, 'a', 0o755, root);
  const b = await ns.mkdir(ROOT_INO, 'b', 0o755, root);
  await ns.create(b.ino, 'keep', 0o644, root);
  await expectCode(() => ns.rename(ROOT_INO, 'a', ROOT_INO, 'b'), 'ENOTEMPTY');
  assert.is((await ns.resolve('/b/keep')).sizeBytes, 0, 'nothing moved');
  assert.ok(await ns.lookup(ROOT_INO, 'a'));
});

test('rename of a directory into itself or its own subdirectory is EINVAL', async ({ volume }) => {
  const ns = volume!.namespace;
  const top = await ns.mkdir(ROOT_INO, 'top', 0o755, root);
  const sub = await ns.mkdir(top.ino, 'sub', 0o755, root);
  const deep = await ns.mkdir(sub.ino, 'deep', 0o755, root);
  await expectCode(() => ns.rename(ROOT_INO, 'top', sub.ino, 'x'), 'EINVAL', 'into a subdirectory');
  await expectCode(() => ns.rename(ROOT_INO, 'top', deep.ino, 'x'), 'EINVAL', 'into a deeper subdirectory');
  await expectCode(() => ns.rename(ROOT_INO, 'top', top.ino, 'x'), 'EINVAL', 'into itself');
  assert.is((await ns.resolve('/top/sub/deep')).ino, deep.ino, 'the tree is unchanged');
});

test('rename of a file over a directory is EISDIR, of a directory over a file ENOTDIR', async ({ volume }) => {
  const ns = volume!.namespace;
  await ns.create(ROOT_INO, 'f', 0o644, root);
  await ns.mkdir(ROOT_INO, 'd', 0o755, root);
  await expectCode(() => ns.rename(ROOT_INO, 'f', ROOT_INO, 'd'), 'EISDIR');
  await expectCode(() => ns.rename(ROOT_INO, 'd', ROOT_INO, 'f'), 'ENOTDIR');
  await expectCode(() => ns.rename(ROOT_INO, 'missing', ROOT_INO, 'x'), 'ENOENT');
  assert.is((await ns.lookup(ROOT_INO, 'f')).type, 'file');
  assert.is((await ns.lookup(ROOT_INO, 'd')).type, 'dir');
});

test('rename onto itself, or onto another link of the same file, changes nothing', async ({ volume }) => {
  const ns = volume!.namespace;
  const file = await ns.create(ROOT_INO, 'same', 0o644, root);
  await ns.link(file.ino, ROOT_INO, 'alias');
  const before = await ns.getattr(file.ino);
  const rootBefore = await ns.getattr(ROOT_INO);
  const version = volume!.kv.currentVersion();
  await sleep(2);
  await ns.rename(ROOT_INO, 'same', ROOT_INO, 'same');
  await ns.rename(ROOT_INO, 'same', ROOT_INO, 'alias');
  assert.equal(await ns.getattr(file.ino), before, 'inode unchanged, ctime included');
  assert.equal(await ns.getattr(ROOT_INO), rootBefore, 'directory unchanged');
  assert.equal((await ns.readdir(ROOT_INO)).map((e) => e.name), ['alias', 'same'], 'both names remain');
  assert.is(volume!.kv.currentVersion(), version, 'no commit was made');
});

test('hard links share the inode and count links; the last unlink queues the body', async ({ volume }) => {
  const ns = volume!.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'dir', 0o755, root);
  const file = await ns.create(ROOT_INO, 'one', 0o644, root);
  await writeFile(volume!, file.ino, Buffer.from('shared'));
  const objects = await objectKeysOf(volume!, file.ino);
  const linked = await ns.link(file.ino, dir.ino, 'two');
  assert.is(linked.nlink, 2);
  assert.is((await ns.getattr(file.ino)).nlink, 2);
  assert.equal(await ns.lookup(dir.ino, 'two'), { ino: file.ino, type: 'file' });
  await expectCode(() => ns.link(file.ino, ROOT_INO, 'dir'), 'EEXIST', 'link onto an existing name');
  await expectCode(() => ns.link(dir.ino, ROOT_INO, 'dirlink'), 'EPERM', 'link to a directory');
  const ctimeBefore = (await ns.getattr(file.ino)).ctimeMs;
  await sleep(3);
  await ns.unlink(ROOT_INO, 'one');
  assert.is((await ns.getattr(file.ino)).nlink, 1);
  assert.ok((await ns.getattr(file.ino)).ctimeMs > ctimeBefore, 'dropping a link moves the inode ctime');
  assert.is((await readFile(volume!, file.ino)).toString(), 'shared', 'the other name still reads the body');
  assert.equal(await queued(volume!), []);
  await ns.unlink(dir.ino, 'two');
  await expectCode(() => ns.getattr(file.ino), 'ENOENT');
  assert.equal(await queued(volume!), objects, 'the last unlink queues every object');
});

test('a directory has 2 + its subdirectories links, through mkdir, rmdir and rename', async ({ volume }) => {
  const ns = volume!.namespace;
  const nlink = async (ino: number) => (await ns.getattr(ino)).nlink;
  assert.is(await nlink(ROOT_INO), 2);
  const a = await ns.mkdir(ROOT_INO, 'a', 0o755, root);
  const b = await ns.mkdir(ROOT_INO, 'b', 0o755, root);
  await ns.create(ROOT_INO, 'file', 0o644, root);
  await ns.symlink(ROOT_INO, 'link', 'a', root);
  assert.is(await nlink(ROOT_INO), 4, 'files and symlinks do not count');
  await ns.mkdir(a.ino, 'x', 0o755, root);
  await ns.mkdir(a.ino, 'y', 0o755, root);
  assert.is(await nlink(a.ino), 4);
  await ns.rename(a.ino, 'x', b.ino, 'x');
  assert.is(await nlink(a.ino), 3, 'moving a subdirectory out');
  assert.is(await nlink(b.ino), 3, 'moving a subdirectory in');
  await ns.rename(a.ino, 'y', a.ino, 'z');
  assert.is(await nlink(a.ino), 3, 'renaming inside the same directory');
  await ns.rmdir(a.ino, 'z');
  assert.is(await nlink(a.ino), 2);
  await ns.rename(b.ino, 'x', ROOT_INO, 'x');
  assert.is(await nlink(ROOT_INO), 5);
  assert.is(await nlink(b.ino), 2);
  assert.is((await ns.resolve('/x/..')).ino, ROOT_INO, "a moved directory's .. follows it");
});

test('symlink stores its target; readlink returns it and is EINVAL on other types', async ({ volume }) => {
  const ns = volume!.namespace;
  const target = '../some/where/\u00e9t\u00e9';
  const link = await ns.symlink(ROOT_INO, 'ln', target, alice);
  const attr = await ns.getattr(link.ino);
  assert.is(attr.mode & S_IFMT, S_IFLNK);
  assert.is(attr.sizeBytes, Buffer.byteLength(target));
  assert.is(attr.uid, alice.uid);
  assert.equal(await ns.lookup(ROOT_INO, 'ln'), { ino: link.ino, type: 'symlink' });
  assert.is(await ns.readlink(link.ino), target);
  const file = await ns.create(ROOT_INO, 'f', 0o644, root);
  await expectCode(() => ns.readlink(file.ino), 'EINVAL');
  await expectCode(() => ns.symlink(ROOT_INO, 'long', 'x'.repeat(4096), root), 'ENAMETOOLONG', 'a target over 4095 bytes');
});

test('a setgid directory gives new entries its group, and new subdirectories its setgid bit', async ({ volume }) => {
  const ns = volume!.namespace;
  const shared = await ns.mkdir(ROOT_INO, 'shared', 0o775, alice);
  await ns.setattr(shared.ino, { gid: 50 });
  await ns.setattr(shared.ino, { mode: 0o2775 });
  assert.is((await ns.getattr(shared.ino)).mode, S_IFDIR | 0o2775);
  const file = await ns.create(shared.ino, 'f', 0o644, bob);
  assert.is(file.gid, 50, 'file takes the directory group');
  assert.is(file.uid, bob.uid);
  const sub = await ns.mkdir(shared.ino, 'sub', 0o755, bob);
  assert.is(sub.gid, 50);
  assert.is(sub.mode, S_IFDIR | S_ISGID | 0o755, 'subdirectory inherits setgid');
  const exe = await ns.create(shared.ino, 'exe', 0o2755, bob);
  assert.is(exe.mode & S_ISGID, 0, 'setgid is dropped on a file whose creator is not in the group');
  const plain = await ns.create(ROOT_INO, 'plain', 0o644, bob);
  assert.is(plain.gid, bob.gid, 'outside a setgid directory the caller group applies');
});

test('chown clears setuid, and setgid with group execute, on files but not directories', async ({ volume }) => {
  const ns = volume!.namespace;
  const suid = await ns.create(ROOT_INO, 'suid', 0o6755, root);
  assert.is(suid.mode, S_IFREG | 0o6755);
  assert.is((await ns.setattr(suid.ino, { uid: 5 })).mode, S_IFREG | 0o755, 'both bits cleared');
  const lockBit = await ns.create(ROOT_INO, 'lock', 0o2745, root);
  assert.is((await ns.setattr(lockBit.ino, { gid: 7 })).mode, S_IFREG | 0o2745, 'setgid without group execute stays');
  const dir = await ns.mkdir(ROOT_INO, 'dir', 0o755, root);
  await ns.setattr(dir.ino, { mode: 0o2755 });
  assert.is((await ns.setattr(dir.ino, { uid: 5, gid: 7 })).mode, S_IFDIR | 0o2755, 'a directory keeps its bits');
  const chmodOnly = await ns.create(ROOT_INO, 'chmod', 0o4755, root);
  assert.is((await ns.setattr(chmodOnly.ino, { mode: 0o4750 })).mode, S_IFREG | 0o4750, 'chmod alone keeps setuid');
  const owned = await ns.getattr(suid.ino);
  assert.is(owned.uid, 5);
  assert.is(owned.mode & S_ISUID, 0);
});

test('xattrs honour XATTR_CREATE and XATTR_REPLACE; a missing one is ENODATA', async ({ volume }) => {
  const ns = volume!.namespace;
  const file = await ns.create(ROOT_INO, 'f', 0o644, root);
  const binary = Buffer.from([0, 1, 2, 255, 0]);
  await ns.setxattr(file.ino, 'user.b', binary, 0);
  assert.ok((await ns.getxattr(file.ino, 'user.b')).equals(binary));
  await expectCode(() => ns.setxattr(file.ino, 'user.b', Buffer.from('x'), XATTR_CREATE), 'EEXIST', 'create over an existing one');
  await expectCode(() => ns.setxattr(file.ino, 'user.a', Buffer.from('x'), XATTR_REPLACE), 'ENODATA', 'replace a missing one');
  await ns.setxattr(file.ino, 'user.a', Buffer.from('first'), XATTR_CREATE);
  await ns.setxattr(file.ino, 'user.a', Buffer.from('second'), XATTR_REPLACE);
  assert.is((await ns.getxattr(file.ino, 'user.a')).toString(), 'second');
  await ns.setxattr(file.ino, 'user.empty', Buffer.alloc(0), 0);
  assert.is((await ns.getxattr(file.ino, 'user.empty')).length, 0, 'an empty value exists');
  assert.equal(await ns.listxattr(file.ino), ['user.a', 'user.b', 'user.empty']);
  await expectCode(() => ns.getxattr(file.ino, 'user.missing'), 'ENODATA', 'get a missing one');
  await ns.removexattr(file.ino, 'user.a');
  await expectCode(() => ns.getxattr(file.ino, 'user.a'), 'ENODATA', 'get a removed one');
  await expectCode(() => ns.removexattr(file.ino, 'user.a'), 'ENODATA', 'remove a missing one');
  assert.equal(await ns.listxattr(file.ino), ['user.b', 'user.empty']);
  await expectCode(() => ns.setxattr(file.ino, 'nonsense.x', Buffer.from('x'), 0), 'ENOTSUP', 'a name outside the known namespaces');
  await expectCode(() => ns.setxattr(file.ino, 'user.', Buffer.from('x'), 0), 'EINVAL', 'a bare namespace prefix');
  const before = (await ns.getattr(file.ino)).ctimeMs;
  await sleep(3);
  await ns.setxattr(file.ino, 'user.c', Buffer.from('c'), 0);
  assert.ok((await ns.getattr(file.ino)).ctimeMs > before, 'setxattr moves ctime');
});

test('mknod makes fifos; other special files are EPERM; user xattrs on a symlink are EPERM', async ({ volume }) => {
  const ns = volume!.namespace;
  const fifo = await ns.mknod(ROOT_INO, 'pipe', 0o010000 | 0o640, 0, alice);
  assert.equal(await ns.lookup(ROOT_INO, 'pipe'), { ino: fifo.ino, type: 'fifo' });
  assert.is((await ns.getattr(fifo.ino)).mode, 0o010000 | 0o640);
  await expectCode(() => ns.mknod(ROOT_INO, 'chr', 0o020000 | 0o600, 0x0101, root), 'EPERM', 'a character device');
  const link = await ns.symlink(ROOT_INO, 'ln', 'pipe', alice);
  await expectCode(() => ns.setxattr(link.ino, 'user.x', Buffer.from('1'), 0), 'EPERM', 'user xattr on a symlink');
});

test('link and rename into a directory that was removed are ENOENT, like create', async ({ volume }) => {
  const ns = volume!.namespace;
  const gone = await ns.mkdir(ROOT_INO, 'gone', 0o755, root);
  const file = await ns.create(ROOT_INO, 'f', 0o644, root);
  await ns.rmdir(ROOT_INO, 'gone');
  await expectCode(() => ns.create(gone.ino, 'x', 0o644, root), 'ENOENT', 'create');
  await expectCode(() => ns.link(file.ino, gone.ino, 'x'), 'ENOENT', 'link');
  await expectCode(() => ns.rename(ROOT_INO, 'f', gone.ino, 'x'), 'ENOENT', 'rename');
  assert.is((await ns.lookup(ROOT_INO, 'f')).ino, file.ino, 'the file stays where it was');
});

test('readdir pages through 1100 entries with after/limit, in name order, each once', async ({ volume }) => {
  const ns = volume!.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'big', 0o755, root);
  const names = Array.from({ length: 1100 }, (_, i) => `entry-${(i * 7919) % 1100}`);
  names.push('a', 'a-', 'ab', '\u00e9'); // prefixes of each other, and a non-ASCII name
  for (const name of names) await ns.create(dir.ino, name, 0o644, root);
  const listed: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ns.readdir(dir.ino, { after, limit: 97 });
    if (page.length === 0) break;
    assert.ok(page.length <= 97);
    listed.push(...page.map((e) => e.name));
    after = page[page.length - 1]!.name;
  }
  const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.equal(listed, expected);
  const whole = await ns.readdir(dir.ino);
  assert.is(whole.length, names.length);
  assert.ok(whole.every((e) => e.type === 'file'));
  const aFile = await ns.lookup(dir.ino, 'a');
  await expectCode(() => ns.readdir(aFile.ino), 'ENOTDIR');
});

test("create, unlink, mkdir and rename move the parent's mtime and ctime", async ({ volume }) => {
  const ns = volume!.namespace;
  const times = async (ino: number) => {
    const { mtimeMs, ctimeMs } = await ns.getattr(ino);
    return { mtimeMs, ctimeMs };
  };
  const other = await ns.mkdir(ROOT_INO, 'other', 0o755, root);
  const steps: Array<[string, () => Promise<unknown>, number[]]> = [
    ['create', () => ns.create(ROOT_INO, 'f', 0o644, root), [ROOT_INO]],
    ['mkdir', () => ns.mkdir(ROOT_INO, 'd', 0o755, root), [ROOT_INO]],
    ['rename across directories', () => ns.rename(ROOT_INO, 'f', other.ino, 'g'), [ROOT_INO, other.ino]],
    ['unlink', () => ns.unlink(other.ino, 'g'), [other.ino]],
    ['rmdir', () => ns.rmdir(ROOT_INO, 'd'), [ROOT_INO]],
  ];
  for (const [what, step, parents] of steps) {
    const before = await Promise.all(parents.map(times));
    await sleep(3);
    await step();
    for (const [i, ino] of parents.entries()) {
      const after = await times(ino);
      assert.ok(after.mtimeMs > before[i]!.mtimeMs, `${what}: mtime of ${ino} moved`);
      assert.ok(after.ctimeMs > before[i]!.ctimeMs, `${what}: ctime of ${ino} moved`);
      assert.is(after.mtimeMs, after.ctimeMs, `${what}: one time for both`);
    }
  }
});

test('namespace changes survive closing and reopening the volume', async (ctx) => {
  const ns = ctx.volume!.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'd', 0o755, alice);
  const file = await ns.create(dir.ino, 'f', 0o600, alice);
  await ns.link(file.ino, ROOT_INO, 'hard');
  await ns.symlink(ROOT_INO, 's', 'd/f', alice);
  await ns.setxattr(file.ino, 'user.k', Buffer.from('v'), 0);
  const reopened = (await ctx.tv!.reopen()).namespace;
  assert.is((await reopened.resolve('/d/f')).ino, file.ino);
  assert.is((await reopened.resolve('/hard')).nlink, 2);
  assert.is(await reopened.readlink((await reopened.resolve('/s')).ino), 'd/f');
  assert.is((await reopened.getxattr(file.ino, 'user.k')).toString(), 'v');
  const next = await reopened.create(ROOT_INO, 'next', 0o644, alice);
  assert.ok(next.ino > file.ino, 'inode numbers are not reused after a reopen');
});

test('a missing name in a directory this volume made is ENOENT without a metadata read; elsewhere it is read', async (ctx) => {
  let dentryReads = 0;
  const countDentryReads = (raw: RawKV): RawKV => ({
    ...raw,
    get: (key) => {
      if (key[0] === 'D'.charCodeAt(0)) dentryReads += 1;
      return raw.get(key);
    },
    getMany: raw.getMany.bind(raw),
    range: raw.range.bind(raw),
    write: raw.write.bind(raw),
    close: raw.close.bind(raw),
  });
  const volume = await ctx.tv!.reopen({ wrapRawKV: countDentryReads });
  const ns = volume.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'made-here', 0o755, alice);
  const file = await ns.create(dir.ino, 'a', 0o644, alice);
  dentryReads = 0;
  await expectCode(() => ns.lookup(dir.ino, 'missing'), 'ENOENT');
  assert.is((await ns.lookup(dir.ino, 'a')).ino, file.ino);
  await ns.unlink(dir.ino, 'a');
  await expectCode(() => ns.lookup(dir.ino, 'a'), 'ENOENT');
  assert.is(dentryReads, 0, 'a directory made here answers from memory');
  await expectCode(() => ns.lookup(ROOT_INO, 'missing'), 'ENOENT');
  assert.is(dentryReads, 1, 'the root, made before this open, is asked');

  const reopened = await ctx.tv!.reopen({ wrapRawKV: countDentryReads });
  dentryReads = 0;
  await expectCode(() => reopened.namespace.lookup(dir.ino, 'missing'), 'ENOENT');
  assert.is(dentryReads, 1, 'after a reopen the directory is read again');
});

test('resolveCached answers from the caches what resolve answers, and leaves every other case to resolve', async (ctx) => {
  const ns = ctx.volume!.namespace;
  const dir = await ns.mkdir(ROOT_INO, 'd', 0o755, alice);
  const file = await ns.create(dir.ino, 'f', 0o644, alice);
  await ns.setattr(file.ino, { mode: 0o100600 });
  assert.equal(ns.resolveCached('/d/f'), await ns.resolve('/d/f'), 'a cached path: the inode as resolve reads it, changes included');
  assert.is(ns.resolveCached('/d')?.ino, dir.ino);
  assert.is(ns.resolveCached('/')?.ino, ROOT_INO);
  assert.is(ns.resolveCached('/d/missing'), null, 'a name missing from a directory made here is known absent');
  assert.is(ns.resolveCached('/d/missing/deeper'), null, 'so is anything under it');
  assert.is(ns.resolveCached(`/d/${'n'.repeat(256)}`), undefined, 'an over-long name is left to resolve, which says ENAMETOOLONG');
  await expectCode(() => ns.resolve(`/d/${'n'.repeat(256)}`), 'ENAMETOOLONG');
  assert.is(ns.resolveCached('/d/f/x'), undefined, 'a path through a file is left to resolve, which says ENOTDIR');
  assert.is(ns.resolveCached('/d/../d/f'), undefined, '.. is left to resolve');
  await ns.rename(dir.ino, 'f', ROOT_INO, 'g');
  assert.is(ns.resolveCached('/d/f'), null, 'a rename moves the name in the caches');
  assert.is(ns.resolveCached('/g')?.ino, file.ino);
  await ns.unlink(ROOT_INO, 'g');
  assert.is(ns.resolveCached('/g'), null, 'an unlinked name is known absent');

  const reopened = (await ctx.tv!.reopen()).namespace;
  assert.is(reopened.resolveCached('/d'), undefined, 'nothing cached after a reopen: resolve must read');
  assert.is(reopened.resolveCached('/d/nothing'), undefined, 'and a directory made before the open is not known complete');
  assert.is((await reopened.resolve('/d')).ino, dir.ino);
  assert.is(reopened.resolveCached('/d')?.ino, dir.ino, 'what resolve read is cached');
});

test('whether an inode may have security.capability or security.selinux: a flag per name, turned on by the first one set, found by a scan on a volume without the flag', async (ctx) => {
  const ns = ctx.tv!.volume.namespace;
  const heard: string[] = [];
  const possible = async (volume: Volume) => Object.fromEntries(await volume.namespace.watchedXattrsPossible(() => undefined));
  assert.equal(Object.fromEntries(await ns.watchedXattrsPossible((name) => heard.push(name))), { 'security.capability': false, 'security.selinux': false }, 'a new volume has neither');
  const file = await ns.create(ROOT_INO, 'ping', 0o755, alice);
  await ns.setxattr(file.ino, 'security.other', Buffer.from('x'), 0);
  assert.equal(heard, [], 'another attribute is not heard');
  await ns.setxattr(file.ino, CAPABILITY_XATTR, Buffer.from('caps'), 0);
  assert.equal(heard, ['security.capability'], 'the watcher heard the capability');

  let reopened = await ctx.tv!.reopen();
  assert.equal(await possible(reopened), { 'security.capability': true, 'security.selinux': false }, 'the flags are kept');
  await reopened.namespace.setxattr(file.ino, 'security.selinux', Buffer.from('system_u:object_r:bin_t:s0'), 0);
  await reopened.kv.commit([{ type: 'del', key: keys.counter('capabilities') }, { type: 'del', key: keys.counter('selinux-labels') }]);
  reopened = await ctx.tv!.reopen();
  assert.equal(await possible(reopened), { 'security.capability': true, 'security.selinux': true }, 'a volume without the flags is scanned');
  await reopened.namespace.removexattr(file.ino, CAPABILITY_XATTR);
  await reopened.kv.commit([{ type: 'del', key: keys.counter('capabilities') }]);
  reopened = await ctx.tv!.reopen();
  assert.equal(await possible(reopened), { 'security.capability': false, 'security.selinux': true }, 'the scan finds no capability left; the label flag stays');
  assert.ok(await reopened.kv.get(keys.counter('capabilities')), 'and records the flag');
});

test.run();
