// Ownership and permissions: a mount started by root with --allow-other, used by uid 1000. New files
// must belong to the caller (1000:1000), setgid directories pass their group (and, to directories,
// the setgid bit) on, and the kernel's default_permissions checks refuse what ext4 refuses. Every
// result is compared with the same steps on a local ext4 directory (test/helpers/posix-owner.py).
//
// Owners come from the caller's identity on each FUSE request (mount/caller.ts, through the
// fuse-native context patch); without it every file would belong to the mount's own user.

import { dirname } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';
import { localReferenceDir, OWNER_SCRIPT, PYTHON, quote, run, sh } from '../helpers/posix-run.js';
import { removeDir } from '../helpers/tmp.js';

const USER = { uid: 1000, gid: 1000 };

type Results = Record<string, unknown>;

const test = suite('ownership: files belong to the caller, permissions as on ext4');
let m: TestMount;
let localDir: string;
let reference: Results;
let strata: Results;

/** Root prepares `dir`, then uid 1000 runs the checks there; returns what uid 1000 saw. */
async function ownershipRun(dir: string): Promise<Results> {
  const setup = await run(PYTHON, [OWNER_SCRIPT, dir, 'setup']);
  if (setup.code !== 0) throw new Error(`ownership setup failed in ${dir}: ${setup.stderr}`);
  const result = await run(PYTHON, [OWNER_SCRIPT, dir, 'run'], USER);
  if (result.code !== 0) throw new Error(`ownership run as uid 1000 failed in ${dir}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Results;
}

test.before(async () => {
  m = await startMount({ args: ['--allow-other'] });
  localDir = (await localReferenceDir('posix-owner')).dir;
  // Temp folders are 0700: let uid 1000 walk down to the mount point and the reference directory.
  await sh(`chmod 755 ${quote(dirname(m.mountpoint))} ${quote(m.mountpoint)} ${quote(localDir)}`);
  await m.sh(`mkdir -m 755 ${m.mountpoint}/owner`);
  await sh(`mkdir -m 755 ${quote(`${localDir}/owner`)}`);
  reference = await ownershipRun(`${localDir}/owner`);
  strata = await ownershipRun(`${m.mountpoint}/owner`);
});

test.after(async () => {
  try {
    await m?.cleanup();
  } finally {
    if (localDir) await removeDir(localDir);
  }
});

test('uid 1000 creating a file in a 0777 directory owns it: 1000:1000', () => {
  assert.equal(reference.create, { uid: 1000, gid: 1000, mode: '0o755' }, 'ext4 itself');
  assert.equal(strata.create, reference.create);
});

test('directories, symlinks and fifos made by uid 1000 are owned by 1000:1000', () => {
  for (const kind of ['mkdir', 'symlink', 'mkfifo', 'hard_link_keeps_owner']) {
    assert.equal(strata[kind], reference[kind], kind);
  }
});

test('uid 1000 cannot chmod or chown a root file: EPERM', () => {
  assert.is(reference.chmod_root_file, 'EPERM');
  assert.is(strata.chmod_root_file, 'EPERM');
  assert.is(strata.chown_root_file, reference.chown_root_file);
});

test('a setgid directory passes its group on, and its setgid bit to subdirectories', () => {
  assert.equal(reference.setgid_dir_file, { uid: 1000, gid: 2000, mode: '0o755' }, 'ext4 itself: setgid dropped, caller is not in group 2000');
  for (const kind of ['setgid_dir_file', 'setgid_dir_subdir', 'setgid_inherited_twice', 'setgid_dir_fifo', 'chmod_setgid_foreign_group_file']) {
    assert.equal(strata[kind], reference[kind], kind);
  }
});

test('every other ownership and permission result equals ext4\'s', () => {
  const others = Object.keys(reference).filter((key) => !['create', 'mkdir', 'symlink', 'mkfifo', 'hard_link_keeps_owner'].includes(key));
  const differing = others.filter((key) => JSON.stringify(strata[key]) !== JSON.stringify(reference[key]));
  assert.equal(
    Object.fromEntries(differing.map((key) => [key, strata[key]])),
    Object.fromEntries(differing.map((key) => [key, reference[key]])),
    `differing: ${differing.join(', ')}`,
  );
});

test.run();
