// Bad input at a live mount: over-long names, a second mount of a locked volume or onto a live
// mount point, a control socket poked by other users and by malformed requests, and a corrupted
// manifest record, which is an EIO on that one file while the rest of the volume works.

import { connect } from 'node:net';
import { chmod, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { keys } from '../../src/meta/keys.js';
import { RocksRawKV } from '../../src/meta/rocks.js';
import { startMount, type TestMount } from '../helpers/mount.js';
import { syscalls } from '../helpers/syscalls.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const NOBODY = 65534;

const test = suite('bad input at a mount');
let m: TestMount;

test.before(async () => {
  m = await startMount();
});
test.after(async () => {
  await m.cleanup();
});

test('a 256-byte name is ENAMETOOLONG for every call that makes or finds a name; 255 bytes work', async () => {
  const dir = m.mountpoint;
  const long = 'L'.repeat(256);
  const ok = 'K'.repeat(255);
  const r = await syscalls(m, `
open('${dir}/plain', 'w').close()
step('create', lambda: os.close(os.open('${dir}/${long}', os.O_CREAT | os.O_WRONLY, 0o644)))
step('mkdir', lambda: os.mkdir('${dir}/${long}'))
step('rename', lambda: os.rename('${dir}/plain', '${dir}/${long}'))
step('link', lambda: os.link('${dir}/plain', '${dir}/${long}'))
step('symlink', lambda: os.symlink('plain', '${dir}/${long}'))
step('mkfifo', lambda: os.mkfifo('${dir}/${long}'))
step('stat', lambda: os.stat('${dir}/${long}') and None)
step('unlink', lambda: os.unlink('${dir}/${long}'))
step('create 255', lambda: os.close(os.open('${dir}/${ok}', os.O_CREAT | os.O_WRONLY, 0o644)))
step('rename 255', lambda: os.rename('${dir}/${ok}', '${dir}/${ok[0]}2' + '${ok}'[2:]))
step('listing', lambda: sorted(len(n) for n in os.listdir('${dir}')))
`);
  for (const call of ['create', 'mkdir', 'rename', 'link', 'symlink', 'mkfifo', 'stat', 'unlink']) assert.is(r[call], 'ENAMETOOLONG', `${call}: ${r[call]}`);
  assert.is(r['create 255'], 'ok');
  assert.is(r['rename 255'], 'ok');
  assert.equal(r.listing, [5, 255]);
});

test('a second mount of a volume in use names the process that holds it; a live mount point is refused', async () => {
  const other = await makeTempDir('second-mount');
  try {
    const second = await m.strata(['mount', other, '--foreground'], { allowFailure: true });
    assert.is(second.code, 1);
    assert.match(second.stderr, new RegExp(`is locked by process ${m.pid()} \\(mounted at ${m.mountpoint}\\)`));
    const onTop = await m.strata(['mount', m.mountpoint, '--foreground', '--volume', 'another'], { allowFailure: true });
    assert.is(onTop.code, 1);
    assert.match(onTop.stderr, /is already a live FUSE mount; unmount it first/);
    assert.ok(m.pid() !== undefined, 'the first mount is still running');
    await m.sh(`ls ${m.mountpoint}`);
  } finally {
    await removeDir(other);
  }
});

function ask(socketPath: string, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      out += text;
      if (out.endsWith('\n')) socket.end();
    });
    socket.on('close', () => resolve(out));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
    socket.write(payload);
  });
}

test('the control socket is 0600, refuses other users, and answers malformed requests with EINVAL', async () => {
  const socketPath = join(m.home, 'default', 'control.sock');
  assert.is((await stat(socketPath)).mode & 0o777, 0o600);
  // Open the folders above it so only the socket's own mode stands between another user and the mount.
  const folders = [dirname(m.home), m.home, join(m.home, 'default')];
  const modes = await Promise.all(folders.map(async (folder) => (await stat(folder)).mode & 0o777));
  await Promise.all(folders.map((folder) => chmod(folder, 0o711)));
  try {
    const other = await m.sh(`python3 -c "
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect('${socketPath}')
    print('connected')
except OSError as e:
    print(e.strerror)
"`, { uid: NOBODY, gid: NOBODY });
    assert.is(other.stdout.trim(), 'Permission denied');
  } finally {
    await Promise.all(folders.map((folder, i) => chmod(folder, modes[i]!)));
  }

  const malformed: Array<[string, RegExp]> = [
    ['not json\n', /malformed control request/],
    ['{}\n', /no "op"/],
    ['null\n', /no "op"/],
    ['[1,2]\n', /no "op"/],
    ['{"op":7}\n', /no "op"/],
    ['{"op":"format-disk"}\n', /unknown control operation "format-disk"/],
    ['{"op":"constructor"}\n', /unknown control operation "constructor"/],
    ['{"op":"__proto__"}\n', /unknown control operation "__proto__"/],
    ['{"op":"toString"}\n', /unknown control operation "toString"/],
    ['{"op":"stat","args":"x"}\n', /arguments of stat must be an object/],
    ['{"op":"stat","args":{"path":5}}\n', /needs a string "path"/],
    ['{"op":"stat","args":{"path":"/a\\u0000b"}}\n', /contains a NUL byte/],
    ['{"op":"put","args":{"local":"/etc/hostname","path":"/a\\u0000b"}}\n', /contains a NUL byte/],
    ['{"op":"put","args":{"local":"/etc/hostname","path":"/x","uid":"root"}}\n', /"uid" must be a whole number/],
    ['{"op":"snapshot.pin","args":{"name":"../up"}}\n', /snapshot name "..\/up" must be/],
    ['{"op":"gc","args":{"graceMs":"none"}}\n', /"graceMs" must be a whole number/],
    ['{"op":"gc","args":{"graceMs":-1}}\n', /"graceMs" must be a whole number/],
    ['{"op":"gc","args":{"graceMs":1e400}}\n', /"graceMs" must be a whole number/],
    ['z'.repeat(70_000), /request too large/],
  ];
  const wrong: string[] = [];
  for (const [payload, message] of malformed) {
    const answer = await ask(socketPath, payload);
    let parsed: { ok?: boolean; code?: string; message?: string } = {};
    try {
      parsed = JSON.parse(answer) as typeof parsed;
    } catch {
      parsed = {};
    }
    if (parsed.ok !== false || parsed.code !== 'EINVAL' || !message.test(parsed.message ?? '')) wrong.push(`${payload.slice(0, 60)} -> ${answer.slice(0, 160)}`);
  }
  assert.equal(wrong, []);
  assert.ok(m.pid() !== undefined, `the mount died of a malformed request:\n${m.log()}`);
  const status = JSON.parse(await ask(socketPath, '{"op":"status"}\n')) as { ok: boolean };
  assert.ok(status.ok, 'the mount still answers well-formed requests');
  process.stdout.write(`\n${malformed.length} malformed control requests answered with EINVAL\n`);
});

test('a corrupted manifest record is an EIO on that file; the rest of the volume works and fsck names it', async () => {
  await m.sh(`mkdir -p ${m.mountpoint}/c && head -c 5000000 /dev/urandom > ${m.mountpoint}/c/bad && head -c 300000 /dev/urandom > ${m.mountpoint}/c/good`);
  const goodBytes = await readFile(join(m.mountpoint, 'c/good'));
  const ino = (JSON.parse((await m.strata(['stat', '/c/bad'])).stdout) as { inode: { ino: number } }).inode.ino;
  await m.unmount();
  const raw = await RocksRawKV.open(join(m.home, 'default', 'meta'));
  try {
    const key = keys.manifest(ino, 0);
    const stored = await raw.get(key);
    assert.ok(stored, 'the manifest record exists');
    await raw.write([{ type: 'put', key, value: Buffer.concat([stored!.subarray(0, 8), Buffer.from('{"chunkIndex":0,"slices":[{"blocks":[{"objectK')]) }], { sync: true });
  } finally {
    await raw.close();
  }
  await m.remount();
  const r = await syscalls(m, `
step('read bad', lambda: len(open('${m.mountpoint}/c/bad', 'rb').read()))
step('stat bad', lambda: os.stat('${m.mountpoint}/c/bad').st_size)
step('read good', lambda: sha_of('${m.mountpoint}/c/good'))
step('write new', lambda: open('${m.mountpoint}/c/new', 'w').write('still works'))
step('read new', lambda: open('${m.mountpoint}/c/new').read())
step('listing', lambda: sorted(os.listdir('${m.mountpoint}/c')))
`);
  assert.is(r['read bad'], 'EIO');
  assert.is(r['stat bad'], 5_000_000);
  assert.is(r['read good'], (await import('node:crypto')).createHash('sha256').update(goodBytes).digest('hex'));
  assert.equal(r.listing, ['bad', 'good', 'new']);
  assert.is(r['read new'], 'still works');
  assert.match(m.log(), /operation failed/);

  const fsck = await m.strata(['fsck', '--json'], { allowFailure: true });
  assert.is(fsck.code, 1);
  const report = JSON.parse(fsck.stdout) as { problems: { kind: string; objectKey: string; detail: string }[] };
  assert.equal(report.problems.map((p) => p.kind), ['corrupt-manifest']);
  assert.match(report.problems[0]!.detail, new RegExp(`inode ${ino}, chunk 0`));
  // gc works, and neither it nor fsck --repair touches the objects the broken manifest may still need
  await m.strata(['gc', '--grace', '0']);
  await m.strata(['fsck', '--repair'], { allowFailure: true });
  await m.strata(['gc', '--grace', '0']);
  const status = JSON.parse((await m.strata(['status', '--json'])).stdout) as { objects: number };
  assert.is(status.objects, 2 + 1 + 1, 'the bad file\'s 2 objects, the good one\'s and the new one\'s are all kept');
});

test.run();
