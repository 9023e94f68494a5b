// Object-store faults, seen through a mount. A fault-injecting proxy sits between the mount and
// s3rver: transient faults (SlowDown, 500, 503, dropped connections, lost answers, cut bodies,
// delays) cost only latency; a persistent outage fails writes with EIO at fsync/close while the
// old generation stays whole and readable from the cache, and the mount recovers by itself when
// the store returns; a cut or corrupted object is an EIO naming its key, never wrong bytes. On the
// file backend, a full disk (a small tmpfs) is ENOSPC and the mount lives on.

import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3ObjectStore } from '../../src/object/s3.js';
import {
  INTERNAL, SLOW_DOWN, UNAVAILABLE, startFaultProxy, type FaultProxy, type FaultRule,
} from '../helpers/fault-proxy.js';
import { startMount, type TestMount } from '../helpers/mount.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { syscalls } from '../helpers/syscalls.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
const PREFIX = 'faults/';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface StatJson {
  manifests: { chunkIndex: number; slices: { blocks: { objectKey: string }[] }[] }[];
}

async function objectKeysOf(m: TestMount, path: string): Promise<string[]> {
  const stat = JSON.parse((await m.strata(['stat', path])).stdout) as StatJson;
  return stat.manifests.flatMap((manifest) => manifest.slices.flatMap((slice) => slice.blocks.map((block) => block.objectKey)));
}

async function shaInMount(m: TestMount, path: string): Promise<string> {
  return sha256(await readFile(join(m.mountpoint, path)));
}

interface FsckJson {
  clean: boolean;
  reachableObjects: number;
  storedObjects: number;
  queuedObjects: number;
  stagedObjects: number;
  problems: { kind: string; objectKey: string }[];
}

async function assertCleanVolume(m: TestMount, step: string): Promise<void> {
  await m.strata(['gc', '--grace', '0']);
  const fsck = await m.strata(['fsck', '--json'], { allowFailure: true });
  const report = JSON.parse(fsck.stdout) as FsckJson;
  assert.is(fsck.code, 0, `${step}: fsck: ${JSON.stringify(report.problems.slice(0, 5))}`);
  assert.is(report.storedObjects, report.reachableObjects, `${step}: stored ${report.storedObjects}, reachable ${report.reachableObjects}`);
  assert.is(report.stagedObjects + report.queuedObjects, 0, `${step}: staged or queued objects left after gc --grace 0`);
}

interface Ctx {
  s3: RunningS3rver;
  proxy: FaultProxy;
  m: TestMount;
  local: string;
}

const s3 = suite<Ctx>('object-store faults through a mount', {} as Ctx);

s3.before(async (ctx) => {
  ctx.s3 = await startS3rver();
  ctx.proxy = await startFaultProxy(ctx.s3.endpoint, { seed: 6 });
  ctx.local = await makeTempDir('faults-local');
  ctx.m = await startMount({
    args: ['--object-backend', 's3', '--bucket', ctx.s3.bucket, '--endpoint', ctx.proxy.endpoint, '--path-style', '--prefix', PREFIX],
    env: { AWS_ACCESS_KEY_ID: ctx.s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: ctx.s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' },
  });
});

s3.after(async (ctx) => {
  await ctx.m?.cleanup();
  await ctx.proxy?.close();
  await ctx.s3?.stop();
  if (ctx.local) await removeDir(ctx.local);
});

s3.after.each((ctx) => ctx.proxy.setRules([]));

s3('transient faults on every kind of request are retried: the files are right and gc and fsck succeed', async ({ m, proxy, local }) => {
  const transient: FaultRule[] = [
    { kinds: ['put'], fault: SLOW_DOWN, probability: 0.2, maxInARow: 3 },
    { kinds: ['put'], fault: INTERNAL, probability: 0.1, maxInARow: 3 },
    { kinds: ['put'], fault: { type: 'drop' }, probability: 0.1, maxInARow: 3 },
    { kinds: ['put'], fault: { type: 'lose-answer' }, probability: 0.1, maxInARow: 3 },
    { kinds: ['get'], fault: { type: 'truncate' }, probability: 0.2, maxInARow: 3 },
    { kinds: ['get'], fault: UNAVAILABLE, probability: 0.15, maxInARow: 3 },
    { kinds: ['get'], fault: { type: 'drop' }, probability: 0.1, maxInARow: 3 },
    // listings and deletes are few: each one is faulted twice (a different way each time), then goes through
    { kinds: ['list', 'head'], fault: SLOW_DOWN, probability: 0.5, maxInARow: 2 },
    { kinds: ['list'], fault: { type: 'truncate' }, maxInARow: 2 },
    { kinds: ['delete'], fault: INTERNAL, probability: 0.5, maxInARow: 2 },
    { kinds: ['delete'], fault: { type: 'lose-answer' }, maxInARow: 2 },
    { fault: { type: 'delay', ms: 150 }, probability: 0.1 },
  ];
  const sizes = [0, 1000, 3 * MiB + 7, 9 * MiB, 13 * MiB + 5];
  const expected = new Map<string, string>();
  for (const [i, size] of sizes.entries()) {
    const bytes = randomBytes(size);
    await writeFile(join(local, `t${i}`), bytes);
    expected.set(`transient/t${i}`, sha256(bytes));
  }
  await m.sh(`mkdir -p ${m.mountpoint}/transient`);
  proxy.resetCounts();
  proxy.setRules(transient);
  const startedMs = Date.now();
  await m.sh(`cp ${local}/t* ${m.mountpoint}/transient/`);
  // an overwrite in the middle and an append, applied to the local copies too
  const patch = randomBytes(5 * MiB);
  await writeFile(join(local, 'patch'), patch);
  await m.sh(`dd if=${local}/patch of=${m.mountpoint}/transient/t4 bs=1M seek=2 conv=notrunc status=none && cat ${local}/patch >> ${m.mountpoint}/transient/t2`);
  const t4 = await readFile(join(local, 't4'));
  patch.copy(t4, 2 * MiB);
  expected.set('transient/t4', sha256(t4));
  expected.set('transient/t2', sha256(Buffer.concat([await readFile(join(local, 't2')), patch])));
  // a whole-file rewrite and an unlink make objects unreachable, for gc to delete through the faults
  await m.sh(`cp ${local}/t4 ${m.mountpoint}/transient/t1 && rm ${m.mountpoint}/transient/t3`);
  expected.set('transient/t1', sha256(await readFile(join(local, 't4'))));
  expected.delete('transient/t3');
  for (const [path, sha] of expected) assert.is(await shaInMount(m, path), sha, `${path} right after writing`);
  // a remount empties the cache, so every read below is a GET through the faults
  await m.unmount();
  await m.remount();
  for (const [path, sha] of expected) assert.is(await shaInMount(m, path), sha, `${path} read back cold`);
  await assertCleanVolume(m, 'under transient faults');
  const { injected } = proxy.counts();
  process.stdout.write(`\ntransient faults injected (${Date.now() - startedMs} ms in all): ${JSON.stringify(injected)}\n`);
  for (const kind of ['put', 'get', 'list', 'delete']) {
    assert.ok(Object.keys(injected).some((name) => name.startsWith(kind + ' ')), `no fault was injected into a ${kind}`);
  }
  assert.not.match(m.log(), /"level":"error"/, 'a transient fault reached the error log');
});

s3('a persistent outage fails fsync and close with EIO, the old generation stays readable from the cache, and the mount recovers', async ({ m, proxy }) => {
  await m.sh(`mkdir -p ${m.mountpoint}/outage && head -c ${6 * MiB} /dev/urandom > ${m.mountpoint}/outage/cached && head -c ${2 * MiB} /dev/urandom > ${m.mountpoint}/outage/cold`);
  await m.unmount();
  await m.remount();
  const cachedSha = await shaInMount(m, 'outage/cached'); // this read fills the cache
  const coldSha = sha256(await readFile(join(m.mountpoint, 'outage/cold')));
  await m.unmount();
  await m.remount();
  assert.is(await shaInMount(m, 'outage/cached'), cachedSha);

  proxy.setRules([{ fault: UNAVAILABLE, probability: 0.5 }, { fault: { type: 'drop' } }]);
  const dir = `${m.mountpoint}/outage`;
  const during = await syscalls(m, `
fd = os.open('${dir}/cached', os.O_RDWR)
step('write', lambda: os.pwrite(fd, os.urandom(${5 * MiB}), 0))
step('fsync', lambda: os.fsync(fd))
step('close', lambda: os.close(fd))
fd2 = os.open('${dir}/new', os.O_CREAT | os.O_WRONLY, 0o644)
step('small write', lambda: os.write(fd2, b'hello during the outage'))
step('small close', lambda: os.close(fd2))
# The kernel sends release after close returns, and the last release tries to publish once more:
# let those attempts end before reading (a reader that opens the file while they run shares the
# failed session; see the report of issue 6).
time.sleep(4)
step('cached read', lambda: sha_of('${dir}/cached'))
step('cold read', lambda: sha_of('${dir}/cold'))
step('listing', lambda: sorted(os.listdir('${dir}')))
`);
  assert.is(during.write, 5 * MiB, 'write(2) buffers; it does not wait for the store');
  assert.is(during.fsync, 'EIO');
  assert.is(during.close, 'EIO');
  assert.is(during['small close'], 'EIO');
  assert.is(during['cached read'], cachedSha, 'the previous generation reads whole from the cache');
  assert.is(during['cold read'], 'EIO', 'an uncached block is an EIO during the outage, never wrong bytes');
  assert.equal(during.listing, ['cached', 'cold', 'new']);
  process.stdout.write(`\noutage: fsync failed after ${during['fsync.ms']} ms, close after ${during['close.ms']} ms, a cold read after ${during['cold read.ms']} ms\n`);

  proxy.setRules([]);
  const after = await syscalls(m, `
step('rewrite', lambda: open('${dir}/cached', 'wb').write(b'back again' * 1000))
step('cached read', lambda: sha_of('${dir}/cached'))
step('cold read', lambda: sha_of('${dir}/cold'))
`);
  assert.is(after.rewrite, 10_000);
  assert.is(after['cached read'], sha256(Buffer.from('back again'.repeat(1000))));
  assert.is(after['cold read'], coldSha);
  await m.unmount();
  await m.remount();
  assert.is(await shaInMount(m, 'outage/cached'), sha256(Buffer.from('back again'.repeat(1000))));
  assert.is(await shaInMount(m, 'outage/cold'), coldSha);
  assert.is((await readFile(join(m.mountpoint, 'outage/new'))).length, 0, 'the file created in the outage exists, empty');
  await assertCleanVolume(m, 'after the outage');
});

s3('a cut or corrupted object is an EIO that names its key, never wrong bytes', async ({ m, proxy, s3: server }) => {
  await m.sh(`mkdir -p ${m.mountpoint}/bad && head -c ${6 * MiB} /dev/urandom > ${m.mountpoint}/bad/file`);
  const keys = await objectKeysOf(m, '/bad/file');
  assert.is(keys.length, 2);
  await m.unmount();
  await m.remount();
  const readCold = async () => {
    await m.unmount();
    await m.remount();
    return syscalls(m, `step('read', lambda: sha_of('${m.mountpoint}/bad/file'))`);
  };
  const escaped = keys[0]!.replace(/[/]/g, '\\/');

  proxy.setRules([{ kinds: ['get'], key: new RegExp(escaped), fault: { type: 'corrupt' } }]);
  assert.is((await readCold()).read, 'EIO');
  assert.match(m.log(), new RegExp(`checksum mismatch for object ${escaped}`));

  proxy.setRules([{ kinds: ['get'], key: new RegExp(escaped), fault: { type: 'truncate' } }]);
  assert.is((await readCold()).read, 'EIO');
  assert.match(m.log(), new RegExp(`reading object ${escaped}`));

  proxy.setRules([]);
  const good = await readCold();
  assert.type(good.read, 'string');
  assert.is((good.read as string).length, 64);

  // the object itself damaged in the store: same EIO, and fsck names it
  const direct = new S3ObjectStore({ bucket: server.bucket, endpoint: server.endpoint, forcePathStyle: true, prefix: PREFIX, credentials: server.credentials });
  try {
    const original = await direct.get(keys[1]!);
    const damaged = Buffer.from(original);
    damaged[12345] = damaged[12345]! ^ 1;
    await direct.put(keys[1]!, damaged);
    assert.is((await readCold()).read, 'EIO');
    assert.match(m.log(), new RegExp(`checksum mismatch for object ${keys[1]!.replace(/[/]/g, '\\/')}`));
    const fsck = await m.strata(['fsck', '--json'], { allowFailure: true });
    assert.is(fsck.code, 1);
    assert.equal((JSON.parse(fsck.stdout) as FsckJson).problems.map((p) => [p.kind, p.objectKey]), [['checksum', keys[1]]]);
    await direct.put(keys[1]!, original);
    assert.is((await readCold()).read, good.read);
  } finally {
    await direct.close();
  }
  await assertCleanVolume(m, 'after the bad objects');
});

s3('objects dropped by a truncate or an unlink while their upload is slow are not leaked by a gc in between', async ({ m, proxy }) => {
  // Every PUT takes 3 s; gc --grace 0 runs while the dropped blocks are still on the wire.
  proxy.setRules([{ kinds: ['put'], fault: { type: 'delay', ms: 3000 } }]);
  const gc = new Promise((r) => setTimeout(r, 1500)).then(() => m.strata(['gc', '--grace', '0']));
  const dir = m.mountpoint;
  const r = await syscalls(m, `
fd = os.open('${dir}/cut', os.O_CREAT | os.O_RDWR, 0o644)
step('write', lambda: os.write(fd, os.urandom(${9 * MiB})))
step('truncate', lambda: os.truncate('${dir}/cut', 0))
step('close', lambda: os.close(fd))
fd = os.open('${dir}/gone', os.O_CREAT | os.O_RDWR, 0o644)
step('write gone', lambda: os.write(fd, os.urandom(${9 * MiB})))
step('unlink gone', lambda: os.unlink('${dir}/gone'))
`);
  assert.is(r.truncate, 'ok');
  assert.is(r['unlink gone'], 'ok');
  await gc;
  await new Promise((resolve) => setTimeout(resolve, 3500)); // the delayed PUTs land
  proxy.setRules([]);
  await assertCleanVolume(m, 'after uploads outlived their segments');
});

s3.run();

const disk = suite('a full disk under the file backend');

disk('a full object folder is ENOSPC at close and fsync, the mount lives on, and works again once space is freed', async () => {
  const base = await makeTempDir('enospc');
  const home = join(base, 'home');
  const objects = join(home, 'default', 'objects');
  await mkdir(objects, { recursive: true });
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', objects]);
  let m: TestMount | undefined;
  try {
    m = await startMount({ home });
    const dir = m.mountpoint;
    await m.sh(`head -c 100000 /dev/urandom > ${dir}/small`);
    const smallSha = await shaInMount(m, 'small');
    const full = await syscalls(m, `
fd = os.open('${dir}/big', os.O_CREAT | os.O_WRONLY, 0o644)
step('write', lambda: os.write(fd, os.urandom(${20 * MiB})))
step('fsync', lambda: os.fsync(fd))
step('close', lambda: os.close(fd))
fd = os.open('${dir}/another', os.O_CREAT | os.O_WRONLY, 0o644)
step('another write', lambda: os.write(fd, os.urandom(${5 * MiB})))
step('another close', lambda: os.close(fd))
step('read back', lambda: sha_of('${dir}/small'))
`);
    assert.is(full.write, 20 * MiB, JSON.stringify(full));
    assert.is(full.fsync, 'ENOSPC');
    assert.is(full.close, 'ENOSPC');
    assert.is(full['another close'], 'ENOSPC');
    assert.is(full['read back'], smallSha);
    assert.ok(m.pid() !== undefined, `the mount process died on a full disk:\n${m.log()}`);
    // the failed sessions' uploads are staged; gc reclaims them and the disk has room again
    await m.strata(['gc', '--grace', '0']);
    await m.sh(`head -c ${2 * MiB} /dev/urandom > ${dir}/after`);
    assert.is((await readFile(join(dir, 'after'))).length, 2 * MiB);
    assert.is(await shaInMount(m, 'small'), smallSha);
    await assertCleanVolume(m, 'after the full disk');
  } finally {
    await m?.cleanup().catch(() => undefined);
    await exec('umount', [objects]).catch(() => exec('umount', ['-l', objects]));
    await removeDir(base);
  }
});

disk.run();
