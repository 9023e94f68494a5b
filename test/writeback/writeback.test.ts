// Write-back mode (`strata mount --writeback`) on s3rver: close returns with the objects staged in
// the volume's home (small ones in its metadata store, the others in its staging folder); they reach
// the object store after the upload delay, or at the next open of the volume after a crash, in any
// mode; a file deleted within the delay is never uploaded.

import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3ObjectStore } from '../../src/object/s3.js';
import { startMount, type TestMount } from '../helpers/mount.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Ctx {
  s3: RunningS3rver;
  local: string;
}

const writeback = suite<Ctx>('write-back mode', {} as Ctx);

writeback.before(async (ctx) => {
  ctx.s3 = await startS3rver();
  ctx.local = await makeTempDir('writeback-local');
});

writeback.after(async (ctx) => {
  await ctx.s3?.stop();
  if (ctx.local) await removeDir(ctx.local);
});

function s3Args(s3: RunningS3rver, prefix: string): string[] {
  return ['--object-backend', 's3', '--bucket', s3.bucket, '--endpoint', s3.endpoint, '--path-style', '--prefix', prefix];
}

function s3Env(s3: RunningS3rver): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' };
}

async function remoteKeys(s3: RunningS3rver, prefix: string): Promise<string[]> {
  const direct = new S3ObjectStore({ bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, prefix, credentials: s3.credentials });
  try {
    const found: string[] = [];
    for await (const info of direct.list('blocks/')) found.push(info.key);
    return found;
  } finally {
    await direct.close();
  }
}

async function objectKeysOf(m: TestMount, path: string): Promise<string[]> {
  const report = JSON.parse((await m.strata(['stat', path])).stdout) as { manifests: { slices: { blocks: { objectKey: string }[] }[] }[] };
  return report.manifests.flatMap((manifest) => manifest.slices.flatMap((slice) => slice.blocks.map((block) => block.objectKey)));
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).length;
}

async function assertCleanVolume(m: TestMount, step: string): Promise<void> {
  await m.strata(['gc', '--grace', '0']);
  const fsck = await m.strata(['fsck', '--json'], { allowFailure: true });
  const report = JSON.parse(fsck.stdout) as { storedObjects: number; reachableObjects: number; problems: unknown[] };
  assert.is(fsck.code, 0, `${step}: fsck: ${JSON.stringify(report.problems.slice(0, 5))}`);
  assert.is(report.storedObjects, report.reachableObjects, `${step}: stored ${report.storedObjects}, reachable ${report.reachableObjects}`);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const startedMs = Date.now(); !(await check()); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() - startedMs > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

writeback('close returns with the objects staged; a crash leaves them for the next mount, which uploads them without --writeback', async ({ s3, local }) => {
  const prefix = 'wb-crash/';
  const m = await startMount({ args: [...s3Args(s3, prefix), '--writeback', '--upload-delay', '1h'], env: s3Env(s3) });
  try {
    const files = new Map<string, string>();
    for (const [i, size] of [0, 4096, 5 * MiB + 3].entries()) {
      const bytes = randomBytes(size);
      await writeFile(join(local, `c${i}`), bytes);
      files.set(`c${i}`, sha256(bytes));
    }
    await m.sh(`cp ${local}/c0 ${local}/c1 ${local}/c2 ${m.mountpoint}/ && for i in $(seq 1 50); do echo small $i > ${m.mountpoint}/s$i; done`);
    // c2's two blocks are over 64 KiB: staged as files; c1 and the 50 small files in the metadata store
    assert.is(await countFiles(join(m.home, 'default', 'staging')), 2, "the large objects are in the staging folder");
    assert.equal(await remoteKeys(s3, prefix), [], 'nothing reached the object store within the upload delay');
    const status = JSON.parse((await m.strata(['status', '--json'])).stdout) as { writebackPending: number; backend: string };
    const staged = status.writebackPending;
    assert.is(staged, 2 + 1 + 50, 'status counts every staged object');
    assert.match(status.backend, /write-back staging/);
    for (const [name, sha] of files) assert.is(sha256(await readFile(join(m.mountpoint, name))), sha, `${name} reads back from staging`);

    await m.kill();
    await m.remount(s3Args(s3, prefix));
    assert.match(m.log(), /uploading objects an earlier mount staged/);
    for (const [name, sha] of files) assert.is(sha256(await readFile(join(m.mountpoint, name))), sha, `${name} after the crash`);
    assert.is((await readFile(join(m.mountpoint, 's50'), 'utf8')), 'small 50\n');
    const keys = await objectKeysOf(m, '/c2');
    await waitFor('the staged objects to be uploaded', async () => (await remoteKeys(s3, prefix)).length >= staged);
    for (const key of keys) assert.ok((await remoteKeys(s3, prefix)).includes(key), `${key} is in the object store`);
    await m.unmount();
    await stat(join(m.home, 'default', 'staging')).then(
      () => assert.unreachable('the staging folder is removed once everything is uploaded'),
      (err: NodeJS.ErrnoException) => assert.is(err.code, 'ENOENT'),
    );
    await m.remount(s3Args(s3, prefix));
    for (const [name, sha] of files) assert.is(sha256(await readFile(join(m.mountpoint, name))), sha, `${name} read from the object store`);
    await assertCleanVolume(m, 'after the crash and the upload');
  } finally {
    await m.cleanup();
  }
});

writeback('uploads start after the delay; a file removed within it is never uploaded; unmount uploads what is left', async ({ s3 }) => {
  const prefix = 'wb-delay/';
  const m = await startMount({ args: [...s3Args(s3, prefix), '--writeback', '--upload-delay', '2s'], env: s3Env(s3) });
  try {
    // 100,000 bytes are staged as files, 3,000 in the metadata store
    await m.sh(`for f in kept gone; do head -c 100000 /dev/urandom > ${m.mountpoint}/$f; head -c 3000 /dev/urandom > ${m.mountpoint}/$f-small; done`);
    const kept = [...(await objectKeysOf(m, '/kept')), ...(await objectKeysOf(m, '/kept-small'))];
    const gone = [...(await objectKeysOf(m, '/gone')), ...(await objectKeysOf(m, '/gone-small'))];
    assert.is(kept.length + gone.length, 4);
    await m.sh(`rm ${m.mountpoint}/gone ${m.mountpoint}/gone-small`);
    await m.strata(['gc', '--grace', '0']);
    const pending = async () => (JSON.parse((await m.strata(['status', '--json'])).stdout) as { writebackPending: number }).writebackPending;
    await waitFor('every staged upload to finish', async () => (await pending()) === 0);
    const remote = await remoteKeys(s3, prefix);
    for (const key of kept) assert.ok(remote.includes(key), `${key} of the kept file was uploaded`);
    for (const key of gone) assert.not.ok(remote.includes(key), `${key} of the removed file was never uploaded`);
    // fsync of a file whose earlier blocks are uploading or uploaded: each staged copy is synced, or is in the store
    await m.sh(`dd if=/dev/urandom of=${m.mountpoint}/synced bs=1M count=6 status=none && sleep 2.5 && dd if=/dev/urandom of=${m.mountpoint}/synced bs=1M count=6 seek=6 conv=notrunc,fsync status=none`);
    await m.sh(`dd if=/dev/urandom of=${m.mountpoint}/late bs=3000 count=1 conv=fsync status=none`);
    const late = await objectKeysOf(m, '/late');
    await m.unmount();
    assert.match(m.log(), /uploading staged objects before closing/);
    assert.ok((await remoteKeys(s3, prefix)).includes(late[0]!), 'unmount waits for the uploads');
    await m.remount(s3Args(s3, prefix));
    await assertCleanVolume(m, 'after the delayed uploads');
  } finally {
    await m.cleanup();
  }
});

writeback('--writeback refuses read-only mounts, and --upload-delay needs --writeback', async ({ s3 }) => {
  const home = await makeTempDir('writeback-flags');
  try {
    const m = await startMount({ home, args: s3Args(s3, 'wb-flags/'), env: s3Env(s3) });
    await m.unmount();
    for (const flags of [['--writeback', '--read-only'], ['--writeback', '--snapshot', 'x'], ['--upload-delay', '5s']]) {
      const result = await m.strata(['mount', m.mountpoint, '--foreground', ...flags], { allowFailure: true });
      assert.is(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /--writeback|--upload-delay/);
    }
    await m.cleanup();
  } finally {
    await removeDir(home);
  }
});

writeback.run();
