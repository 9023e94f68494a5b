// Real tools on a Strata mount: cp -a and rsync -aH round trips of a real tree (the project's own
// node_modules/@aws-sdk and uvu, plus symlinks, hard links, odd modes and an empty directory), git,
// tar, a 2 GiB file written with dd, and all of it still there after an unmount and a remount.
//
// Trees are compared by content (diff -r) and by `find -printf` listings of type, mode, link count,
// size, symlink target and mtime. FUSE carries times to Strata in whole milliseconds, so mtimes are
// compared at millisecond precision (the local source is cut to ms; ext4 keeps nanoseconds).

import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';
import { quote, sh } from '../helpers/posix-run.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const NODE_MODULES = fileURLToPath(new URL('../../../node_modules', import.meta.url));
const BIG_FILE_MIB = 2048;

/**
 * One line per entry: path, type, mode, link count, size (not for directories: ext4 grows them by
 * blocks, Strata reports 4096), mtime cut to whole milliseconds, symlink target.
 */
const LISTING = String.raw`find . -mindepth 1 -printf '%P|%y|%m|%n|%s|%T@|%l\n' | awk -F'|' -v OFS='|' '{ if ($2 == "d") $5 = "-"; split($6, t, "."); $6 = t[1] "." substr(t[2] "000", 1, 3); print }' | sort`;

/** Deterministic, incompressible bytes at memory speed: AES-CTR of zeros with a fixed key. */
const PATTERN = 'openssl enc -aes-128-ctr -nosalt -pass pass:strata-tools-test -pbkdf2 < /dev/zero 2>/dev/null';
/** sha256 of stdin; openssl's uses the CPU's SHA instructions, several times faster than sha256sum. */
const SHA256 = "openssl dgst -sha256 -r | cut -d' ' -f1";

const test = suite('tools: cp -a, rsync -aH, git, tar and dd on a mount, before and after a remount');
let m: TestMount;
let work: string;
let source: string;
let sourceListing: string;
let bigFileSha: string;
let tarListing: string;

const listing = (dir: string) => sh(LISTING, { cwd: dir });
/** diff -r of two trees' bytes; it cannot read fifos (the listings compare those). */
const diffTrees = (a: string, b: string) => sh(`diff -r --no-dereference -x fifo ${quote(a)} ${quote(b)}`);

test.before(async () => {
  if ((await sh('command -v rsync || true')).trim() === '') {
    await sh('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null', { timeoutMs: 300_000 });
  }
  m = await startMount();
  work = await makeTempDir('posix-tools');
  source = `${work}/source`;
  // A real tree and the kinds of entries a plain package tree lacks.
  await sh(
    [
      `mkdir -p ${quote(source)}/extras/empty ${quote(source)}/extras/private`,
      `cp -a ${quote(`${NODE_MODULES}/@aws-sdk`)} ${quote(`${NODE_MODULES}/uvu`)} ${quote(source)}/`,
      `cd ${quote(source)}/extras`,
      `printf 'shared bytes' > hard1 && ln hard1 hard2`,
      `ln -s ../uvu/package.json rel-link && ln -s /nonexistent/target dangling-link`,
      `printf 'x' > setuid && chmod 4755 setuid`,
      `printf 'secret' > private/key && chmod 600 private/key && chmod 700 private`,
      `: > empty-file`,
      `head -c 5000000 /dev/urandom > five-mb`,
      `mkfifo fifo`,
      `touch -d '2001-02-03 04:05:06.789' hard1 private`,
      `touch -h -d '2002-03-04 05:06:07.891' rel-link`,
    ].join(' && '),
  );
  sourceListing = await listing(source);
});

test.after(async () => {
  try {
    await m?.cleanup();
  } finally {
    if (work) await removeDir(work);
  }
});

test('cp -a into the mount and back out: same bytes, modes, link counts and mtimes (ms)', async () => {
  const files = Number((await sh(`find ${quote(source)} -type f | wc -l`)).trim());
  assert.ok(files > 1500, `the tree has only ${files} files`);
  await m.sh(`cp -a ${quote(source)} ${m.mountpoint}/cp`);
  assert.fixture(await listing(`${m.mountpoint}/cp`), sourceListing);
  // copying back reads every byte through the mount; the remount test diffs the mount itself
  await sh(`cp -a ${m.mountpoint}/cp ${quote(`${work}/cp-back`)}`);
  await diffTrees(source, `${work}/cp-back`);
  assert.fixture(await listing(`${work}/cp-back`), sourceListing);
});

test('rsync -aH into the mount and back out is a faithful round trip, and a second rsync sends nothing', async () => {
  await sh(`rsync -aH ${quote(source)}/ ${m.mountpoint}/rsync/`);
  assert.fixture(await listing(`${m.mountpoint}/rsync`), sourceListing);
  // -i itemizes every file rsync would change: sizes and mtimes (to the second, rsync's default) match
  const again = await sh(`rsync -aHi --dry-run ${quote(source)}/ ${m.mountpoint}/rsync/`);
  assert.is(again, '', 'a second rsync found differences');
  await sh(`rsync -aH ${m.mountpoint}/rsync/ ${quote(`${work}/rsync-back`)}/`);
  await diffTrees(source, `${work}/rsync-back`);
  assert.fixture(await listing(`${work}/rsync-back`), sourceListing);
});

const GIT = 'git -c user.name=Strata -c user.email=strata@example.invalid -c init.defaultBranch=main -c gc.auto=0';

test('git init, add, commit, branch and rename inside the mount; fsck and log agree', async () => {
  const repo = `${m.mountpoint}/repo`;
  await m.sh(`cp -a ${quote(`${source}/uvu`)} ${repo}`);
  await m.sh(`cd ${repo} && ${GIT} init -q && ${GIT} add -A && ${GIT} commit -q -m 'first commit'`);
  await m.sh(`cd ${repo} && ${GIT} checkout -q -b topic && ${GIT} mv package.json moved.json && printf 'more\\n' >> readme.md && ${GIT} commit -q -am 'second commit'`);
  await m.sh(`cd ${repo} && ${GIT} fsck --full --strict`);
  const log = await m.sh(`cd ${repo} && ${GIT} log --format=%s`);
  assert.is(log.stdout, 'second commit\nfirst commit\n');
  const status = await m.sh(`cd ${repo} && ${GIT} status --porcelain`);
  assert.is(status.stdout, '', 'a clean work tree shows no changes');
  const files = await m.sh(`cd ${repo} && ${GIT} ls-files | wc -l`);
  assert.is(files.stdout.trim(), (await sh(`find ${quote(`${source}/uvu`)} -type f | wc -l`)).trim());
  await m.sh(`cd ${repo} && ${GIT} gc -q && ${GIT} fsck --full --strict && ${GIT} checkout -q main && test -f package.json`);
});

test('tar x into the mount and tar c back out list the same entries', async () => {
  // a part of the tree: every file costs a few FUSE round trips, and cp and rsync had all of it
  // --sort=name: which name of a hard-linked pair tar stores as the file follows readdir order,
  // which differs (ext4 hashes names, Strata lists them sorted) and POSIX leaves unspecified
  const members = './uvu ./@aws-sdk/client-s3 ./extras';
  await sh(`tar --sort=name -C ${quote(source)} -cf ${quote(`${work}/tree.tar`)} ${members}`);
  await m.sh(`mkdir ${m.mountpoint}/tar && tar -C ${m.mountpoint}/tar -xpf ${quote(`${work}/tree.tar`)}`);
  tarListing = await listing(`${m.mountpoint}/tar`);
  await m.sh(`tar --sort=name -C ${m.mountpoint}/tar -cf ${quote(`${work}/back.tar`)} ${members}`);
  // verbose listings: type, mode, owner, size, mtime (tar keeps whole seconds), name, link target
  const entries = (tarball: string) => sh(`tar --full-time -tvf ${quote(tarball)} | sort -k6`);
  const [original, back] = await Promise.all([entries(`${work}/tree.tar`), entries(`${work}/back.tar`)]);
  assert.ok(original.split('\n').length > 400);
  assert.fixture(back, original);
  await diffTrees(`${source}/uvu`, `${m.mountpoint}/tar/uvu`);
});

test(`a ${BIG_FILE_MIB} MiB file written with dd bs=1M reads back with the same sha256`, async () => {
  bigFileSha = (await sh(`${PATTERN} | head -c ${BIG_FILE_MIB}M | ${SHA256}`)).trim();
  const started = Date.now();
  const written = await m.sh(`${PATTERN} | dd of=${m.mountpoint}/big bs=1M count=${BIG_FILE_MIB} iflag=fullblock status=none`);
  assert.is(written.stderr, '');
  const writtenMs = Date.now() - started;
  const size = await m.sh(`stat -c %s ${m.mountpoint}/big`);
  assert.is(Number(size.stdout), BIG_FILE_MIB * 1024 * 1024);
  const read = await m.sh(`dd if=${m.mountpoint}/big bs=1M status=none | ${SHA256}`);
  assert.is(read.stdout.trim(), bigFileSha);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 120, `writing and reading ${BIG_FILE_MIB} MiB took ${seconds} s (write ${writtenMs} ms) on ${cpus().length} cores`);
});

test('after unmount and remount everything is still there', async () => {
  await m.unmount();
  await m.remount();
  await diffTrees(source, `${m.mountpoint}/cp`);
  assert.fixture(await listing(`${m.mountpoint}/cp`), sourceListing);
  assert.fixture(await listing(`${m.mountpoint}/rsync`), sourceListing);
  assert.fixture(await listing(`${m.mountpoint}/tar`), tarListing);
  await m.sh(`cd ${m.mountpoint}/repo && ${GIT} fsck --full --strict && test "$(${GIT} status --porcelain)" = ""`);
  const read = await m.sh(`dd if=${m.mountpoint}/big bs=1M status=none | ${SHA256}`);
  assert.is(read.stdout.trim(), bigFileSha);
});

test.run();
