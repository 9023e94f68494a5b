import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strataCommandLine } from '../helpers/cli.js';
import { STRATA_BIN, startMount, type TestMount } from '../helpers/mount.js';

const test = suite('mount basics');
let m: TestMount;

test.before(async () => {
  m = await startMount();
});
test.after(async () => {
  await m.cleanup();
});

test('a file written through the mount reads back and survives a remount', async () => {
  await m.sh(`printf 'hello strata' > ${m.mountpoint}/greeting && mkdir ${m.mountpoint}/dir && head -c 9000000 /dev/urandom > ${m.mountpoint}/dir/random`);
  const before = await m.sh(`cat ${m.mountpoint}/greeting; sha256sum < ${m.mountpoint}/dir/random`);
  await m.unmount();
  await m.remount();
  const after = await m.sh(`cat ${m.mountpoint}/greeting; sha256sum < ${m.mountpoint}/dir/random`);
  assert.match(before.stdout, /^hello strata/);
  assert.is(after.stdout, before.stdout);
});

test('the root listing hides .snapshots and .stats but both are reachable by path', async () => {
  const listing = await m.sh(`ls -a ${m.mountpoint}`);
  assert.not.match(listing.stdout, /\.snapshots|\.stats/);
  const stats = await m.sh(`cat ${m.mountpoint}/.stats`);
  assert.match(stats.stdout, /^# TYPE strata_fuse_op_duration_seconds histogram$/m);
  await m.sh(`ls ${m.mountpoint}/.snapshots`);
  // ls -l asks each entry for extended attributes: the virtual ones have none, and say so.
  const long = await m.sh(`ls -ld ${m.mountpoint}/.stats ${m.mountpoint}/.snapshots 2>&1`);
  assert.not.match(long.stdout, /No such file|cannot/);
  assert.match(long.stdout, /^-r--r--r-- .*\.stats$/m);
});

/** How many `op` requests reached the mount's handlers so far. */
async function opsHandled(op: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1100)); // .stats is recomputed at most once a second
  const text = (await m.sh(`cat ${m.mountpoint}/.stats`)).stdout;
  return Number(new RegExp(`^strata_fuse_op_duration_seconds_count\\{op="${op}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

test('the kernel keeps the attributes of directories and single-name files for a second', async () => {
  // Counted at the mount: without the patched addon's per-reply timeouts, every stat below would
  // send a GETATTR for the file and one for each directory on its path.
  const getattrs = () => opsHandled('getattr');
  const files = 50;
  await m.sh(`mkdir -p ${m.mountpoint}/cached/dir && cd ${m.mountpoint}/cached/dir && for i in $(seq ${files}); do : > f$i; done`);
  const before = await getattrs();
  await m.sh(`cd / && for round in 1 2 3; do stat ${m.mountpoint}/cached/dir/f* > /dev/null; done`);
  const sent = (await getattrs()) - before;
  // One lookup per file (answered by getattr), then nothing; a few more for .stats and the root.
  assert.ok(sent >= files && sent < files + 10, `3 rounds of stat over ${files} files sent ${sent} getattrs`);
});

test('strata put over a file whose attributes the kernel keeps is seen at once: the mount makes the kernel drop them', async () => {
  const body = 'the body strata put wrote, longer than the old one\n';
  const local = join(dirname(m.home), 'put-source');
  await writeFile(local, body);
  const file = `${m.mountpoint}/replaced`;
  // The create's reply lets the kernel keep the file's attributes (and so its size) for a second;
  // the put and the reads after it fit in that second.
  const seen = await m.sh(`printf old > ${file} && stat -c %s ${file} && ${strataCommandLine(['put', local, '/replaced', '--home', m.home])} > /dev/null && stat -c %s ${file} && cat ${file}`);
  assert.is(seen.stdout, `3\n${body.length}\n${body}`);
});

test('a create answers with the new file\'s attributes: the fgetattr libfuse sends after it stays in the addon', async () => {
  const before = await opsHandled('fgetattr');
  const made = await m.sh(`cd ${m.mountpoint} && umask 027 && for i in $(seq 20); do : > made-$i; done && stat -c '%a %s %U' made-1 made-20`);
  assert.is(made.stdout, '640 0 root\n640 0 root\n');
  // cat of .stats itself sends one (its fstat)
  const sent = (await opsHandled('fgetattr')) - before;
  assert.ok(sent <= 2, `20 creates sent ${sent} fgetattrs to the handlers`);
});

test('chmod, chown and utimens answer with the new attributes: the getattr libfuse sends after each stays in the addon (patched v7)', async () => {
  await m.sh(`printf 'x' > ${m.mountpoint}/changed`);
  const changeAll = (calls: string) => m.sh(`python3 -c "import os
fd = os.open('${m.mountpoint}/changed', os.O_RDWR)
for i in range(20): ${calls}
os.close(fd)"`);
  // besides these, the lookup of the file and the cat of .stats may reach the handlers
  let before = await opsHandled('getattr');
  await changeAll('os.fchmod(fd, 0o600 + i % 8); os.utime(fd, ns=(1_500_000_000_000_000_000 + i, 1_400_000_000_000_000_000 + i * 1_000_000))');
  let sent = (await opsHandled('getattr')) - before;
  assert.ok(sent <= 5, `20 chmods and 20 utimens sent ${sent} getattrs to the handlers`);
  // the kernel itself asks once before each chown (whether setuid bits are to be cleared)
  before = await opsHandled('getattr');
  await changeAll('os.fchown(fd, 1000 + i, 1000 + i)');
  sent = (await opsHandled('getattr')) - before;
  assert.ok(sent <= 25, `20 chowns sent ${sent} getattrs to the handlers`);
  assert.is((await m.sh(`stat -c '%a %u %g %Y' ${m.mountpoint}/changed`)).stdout, '603 1019 1019 1400000000\n');
});

test('reads of a single-name file do not ask for its attributes each time, though the kernel drops stale pages (patched v8)', async () => {
  await m.sh(`head -c 65536 /dev/urandom > ${m.mountpoint}/reread`);
  const asked = async () => (await opsHandled('getattr')) + (await opsHandled('fgetattr'));
  const before = await asked();
  // With FUSE_AUTO_INVAL_DATA every read() refreshes expired attributes first; a getattr reply
  // cached like a lookup's keeps that to about one a second.
  // The sleep outlasts the attributes of the open's lookup, so the reads' refresh is a getattr.
  await m.sh(`python3 -c "import os, time
fd = os.open('${m.mountpoint}/reread', os.O_RDONLY)
time.sleep(1.2)
for i in range(200): os.pread(fd, 4096, (i * 4096) % 65536)
os.close(fd)"`);
  const sent = (await asked()) - before;
  // the reads of .stats that count them ask a few themselves (a virtual file is never cached)
  assert.ok(sent <= 30, `200 reads sent ${sent} getattrs and fgetattrs to the handlers`);
});

test('reads and writes reach the handlers 1 MiB at a time (patched fuse-native v6), and the body reads back whole', async () => {
  const writesBefore = await opsHandled('write');
  await m.sh(`head -c 8388608 /dev/urandom > /tmp/strata-wide-$$ && dd if=/tmp/strata-wide-$$ of=${m.mountpoint}/wide bs=1M conv=fsync status=none && cmp /tmp/strata-wide-$$ ${m.mountpoint}/wide; rc=$?; rm -f /tmp/strata-wide-$$; exit $rc`);
  const writes = (await opsHandled('write')) - writesBefore;
  // libfuse 2.9 alone sends 128 KiB writes: 64 of them for 8 MiB
  assert.is(writes, 8, `8 MiB in 1 MiB writes arrived as ${writes} writes`);
  // O_DIRECT skips the page cache and the readahead window: each 1 MiB read is one request
  const readsBefore = await opsHandled('read');
  const read = await m.sh(`dd if=${m.mountpoint}/wide of=/dev/null bs=1M iflag=direct 2>&1 | grep -c copied`);
  assert.is(read.stdout.trim(), '1');
  const reads = (await opsHandled('read')) - readsBefore;
  assert.ok(reads >= 8 && reads <= 9, `8 MiB in 1 MiB direct reads arrived as ${reads} reads`);
});

/** The fsync and fdatasync calls of the mount process (all threads) while `command` runs. */
async function syncsDuring(command: string): Promise<number> {
  const traced = await m.sh(`log=$(mktemp); strace -f -qq -e trace=fsync,fdatasync -p ${m.pid()} -o $log & tracer=$!; sleep 1; ${command}; sleep 0.5; kill $tracer; wait $tracer; grep -c 'sync(' $log; rm -f $log`);
  return Number(traced.stdout.trim().split('\n').at(-1));
}

test('df (statfs) counts the bytes in files and the inodes in use, and agrees with strata status', async () => {
  const used = async () => {
    const [blocks, free, files, freeFiles] = (await m.sh(`stat -f -c '%b %f %c %d' ${m.mountpoint}`)).stdout.trim().split(' ').map(Number);
    return { blocks: blocks! - free!, inodes: files! - freeFiles! };
  };
  const before = await used();
  await m.sh(`mkdir ${m.mountpoint}/df && head -c 3145728 /dev/zero > ${m.mountpoint}/df/three-mib && ln -s three-mib ${m.mountpoint}/df/link`);
  const after = await used();
  assert.equal(after, { blocks: before.blocks + 768, inodes: before.inodes + 3 });
  const status = JSON.parse((await m.sh(`node ${STRATA_BIN} status --json --home ${m.home}`)).stdout) as { inodes: number; fileBytes: number };
  assert.equal({ blocks: Math.ceil(status.fileBytes / 4096), inodes: status.inodes }, after);
  await m.sh(`rm -r ${m.mountpoint}/df`);
  assert.equal(await used(), before);
});

test('fsync through a new handle makes durable what an earlier handle wrote and closed, as on ext4', async () => {
  await m.sh(`head -c 4096 /dev/urandom > ${m.mountpoint}/small-synced-later && head -c 3000000 /dev/urandom > ${m.mountpoint}/large-synced-later`);
  // let the flush-behind of the larger object end, so that what is counted is the fsync's own work
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const fsyncOf = (name: string) => `python3 -c "import os; fd = os.open('${m.mountpoint}/${name}', os.O_WRONLY); os.fsync(fd); os.close(fd)"`;
  // the small file's object rode on its publish commit: syncing the metadata log makes it durable
  const small = await syncsDuring(fsyncOf('small-synced-later'));
  assert.ok(small >= 1, `fsync of the small file synced ${small} files`);
  // the larger file's object, its folder and the metadata log
  const large = await syncsDuring(fsyncOf('large-synced-later'));
  assert.ok(large >= 3, `fsync of the larger file synced ${large} files`);
});

test('writes ask the handlers for file capabilities only once one exists; a write then drops it, as on ext4', async () => {
  const d = m.mountpoint;
  const getxattrs = () => opsHandled('getxattr');
  // cap_net_raw+ep (VFS_CAP_REVISION_2); the kernel removes it when the file is written.
  const setWriteAndRead = (name: string) => m.sh(`python3 -c "
import os, struct
p = '${d}/${name}'
os.setxattr(p, 'security.capability', struct.pack('<IIIII', 0x02000001, 1 << 13, 0, 0, 0))
print(os.getxattr(p, 'security.capability').hex())
with open(p, 'a') as f: f.write('more')
try: print('kept', os.getxattr(p, 'security.capability').hex())
except OSError as e: print('dropped', e.errno)
"`);
  const before = await getxattrs();
  await m.sh(`for i in 1 2 3 4 5; do echo $i > ${d}/cap-$i; echo more >> ${d}/cap-$i; done`);
  assert.is(await getxattrs(), before, 'ten writes and no getxattr reached the handlers');

  assert.is((await setWriteAndRead('cap-1')).stdout, '0100000200200000000000000000000000000000\ndropped 61\n');
  const afterCap = await getxattrs();
  await m.sh(`echo again >> ${d}/cap-2`);
  assert.ok((await getxattrs()) > afterCap, 'once a capability was set, writes ask the handlers');

  await m.unmount();
  await m.remount();
  const remounted = await getxattrs();
  assert.is((await setWriteAndRead('cap-3')).stdout, '0100000200200000000000000000000000000000\ndropped 61\n', 'after a remount too');
  assert.ok((await getxattrs()) > remounted, 'the volume remembers that a capability was set');
});

test('ls -l asks the handlers for no SELinux label until one is set; then it reads the label back', async () => {
  const d = `${m.mountpoint}/labels`;
  await m.sh(`mkdir ${d} && for i in $(seq 20); do echo $i > ${d}/f-$i; done`);
  const asked = await m.sh(`strace -f -e trace=lgetxattr,getxattr ls -l ${d} 2>&1 >/dev/null | grep -c 'security.selinux' || true`);
  assert.ok(Number(asked.stdout) >= 20, `ls -l asks each entry for its label (strace counted ${asked.stdout.trim()})`);
  const before = await opsHandled('getxattr');
  const listed = await m.sh(`ls -l ${d} | wc -l`);
  assert.is(listed.stdout.trim(), '21');
  // ls also asks once whether the listing's first file has a POSIX ACL (EOPNOTSUPP, then it stops asking).
  const sent = (await opsHandled('getxattr')) - before;
  assert.ok(sent <= 1, `ls -l of 20 entries sent ${sent} getxattrs to the handlers`);

  const label = await m.sh(`python3 -c "
import os
os.setxattr('${d}/f-1', 'security.selinux', b'system_u:object_r:bin_t:s0')
print(os.getxattr('${d}/f-1', 'security.selinux').decode())
"`);
  assert.is(label.stdout, 'system_u:object_r:bin_t:s0\n');
  const afterLabel = await opsHandled('getxattr');
  await m.sh(`ls -l ${d} > /dev/null`);
  assert.ok((await opsHandled('getxattr')) >= afterLabel + 20, 'once a label was set, ls -l asks the handlers');
});

test('an unmount from outside ends the mount process once nothing is open through it; the volume is free to mount again', async () => {
  assert.ok(m.pid(), 'the mount runs');
  // A lazy unmount leaves the open file working: the mount serves it until it is closed.
  await m.sh(`printf 'before the unmount' > ${m.mountpoint}/outside && exec 3>${m.mountpoint}/held && printf 'written, ' >&3 && fusermount -u -z ${m.mountpoint} && sleep 2.5 && printf 'then unmounted' >&3`);
  for (let waitedMs = 0; m.pid() !== undefined; waitedMs += 100) {
    if (waitedMs > 30_000) assert.unreachable(`the mount process lived on after its mount was gone:\n${m.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(m.log(), /unmounted from outside/);
  await m.remount();
  const after = await m.sh(`cat ${m.mountpoint}/outside; echo; cat ${m.mountpoint}/held`);
  assert.is(after.stdout, 'before the unmount\nwritten, then unmounted');
});

test('a mount point whose path has a space and a backslash (escaped in /proc/mounts) stays mounted, and stops when unmounted from outside', async () => {
  const odd = await startMount({ mountpointName: 'mount point\\x' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.ok(odd.pid(), `the mount process runs after two looks at the mount table:\n${odd.log()}`);
    await odd.sh(`printf 'kept' > '${odd.mountpoint}/f' && fusermount -u '${odd.mountpoint}'`);
    for (let waitedMs = 0; odd.pid() !== undefined; waitedMs += 100) {
      if (waitedMs > 30_000) assert.unreachable(`the mount process lived on after its mount was gone:\n${odd.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await odd.remount();
    assert.is((await odd.sh(`cat '${odd.mountpoint}/f'`)).stdout, 'kept');
  } finally {
    await odd.cleanup();
  }
});

test.run();
