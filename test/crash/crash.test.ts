// Crash consistency: a writer workload runs against a mount, the mount process is SIGKILLed at a
// seeded random point (with the workload), and the next `strata mount` of the same volume must
// recover by itself (stale mount point, orphans, staged objects), lose nothing that was fsynced or
// closed, show every file as one whole published version, and leave a volume that `strata gc
// --grace 0` and `strata fsck` find clean with no object leaked.
//
// STRATA_CRASH_SEEDS (comma separated) and STRATA_CRASH_ROUNDS widen the run; CI uses the defaults.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkRound, parseJournal, seededRandom, sha256, type Found, type JournalRecord } from '../helpers/crash-journal.js';
import { startMount, type TestMount } from '../helpers/mount.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const WORKLOAD = fileURLToPath(new URL('../helpers/crash-workload.js', import.meta.url));
const SEEDS = (process.env.STRATA_CRASH_SEEDS ?? '101,202,303,505').split(',').map(Number);
const ROUNDS = Number(process.env.STRATA_CRASH_ROUNDS ?? 4);
const S3_SEEDS = (process.env.STRATA_CRASH_S3_SEEDS ?? '404').split(',').map(Number);
const WORKERS = 3;

interface Tally {
  kills: number;
  /** the last journal record before each kill: where in the workload the crash landed */
  landedAfter: Record<string, number>;
  orphansRecovered: number;
  stagedRecovered: number;
  filesChecked: number;
  durableChecked: number;
}

const tally: Tally = { kills: 0, landedAfter: {}, orphansRecovered: 0, stagedRecovered: 0, filesChecked: 0, durableChecked: 0 };

async function walk(root: string, prefix = '', dirs: string[] = []): Promise<Found> {
  const found: Found = new Map();
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      dirs.push(path);
      for (const [p, v] of await walk(root, path, dirs)) found.set(p, v);
    } else {
      const bytes = await readFile(join(root, path));
      found.set(path, { sha: sha256(bytes), size: bytes.length });
    }
  }
  return found;
}

function journalLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Runs the workload until the journal reaches a seeded length, then kills the mount and the workload. */
async function crashRound(m: TestMount, workDir: string, state: Found, roundSeed: number): Promise<void> {
  const rand = seededRandom(roundSeed);
  const journalPath = join(workDir, `journal-${roundSeed}.jsonl`);
  const initial: JournalRecord[] = [...state].map(([path, { sha, size }]) => ({ k: 'dur', id: `init-${roundSeed}-${path}`, path, sha, size }));
  await writeFile(journalPath, initial.map((r) => JSON.stringify(r) + '\n').join(''));
  const target = initial.length + 3 + Math.floor(rand() * 70);
  const extraDelayMs = Math.floor(rand() * 40);

  let stderr = '';
  const workload: ChildProcess = spawn(process.execPath, [WORKLOAD, join(m.mountpoint, 'crash'), journalPath, String(roundSeed), String(WORKERS)], { stdio: ['ignore', 'ignore', 'pipe'] });
  workload.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const workloadExited = new Promise<void>((resolve) => workload.once('exit', () => resolve()));
  const startedAt = Date.now();
  for (;;) {
    if (workload.exitCode !== null) assert.unreachable(`the workload stopped before the crash (seed ${roundSeed}): ${stderr}\n${m.log()}`);
    if (journalLines(await readFile(journalPath, 'utf8')) >= target) break;
    if (Date.now() - startedAt > 60_000) assert.unreachable(`the workload made no progress in 60 s (seed ${roundSeed})\n${m.log()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, extraDelayMs));
  await m.kill();
  workload.kill('SIGKILL');
  await workloadExited;
  tally.kills++;

  const records = parseJournal(await readFile(journalPath, 'utf8'));
  const last = records[records.length - 1]!.k;
  tally.landedAfter[last] = (tally.landedAfter[last] ?? 0) + 1;

  await m.remount();
  const log = m.log();
  assert.match(log, /stale mount point/, `the remount did not recover the stale mount point:\n${log}`);
  if (/retired files unlinked while open/.test(log)) tally.orphansRecovered++;
  if (/staged objects/.test(log)) tally.stagedRecovered++;

  const dirs: string[] = [];
  const found = await walk(join(m.mountpoint, 'crash'), '', dirs);
  const problems = checkRound(records, found);
  assert.equal(problems, [], `seed ${roundSeed}: after a crash ${records.length - initial.length} records into the workload:\n${problems.join('\n')}`);
  tally.filesChecked += found.size;
  tally.durableChecked += new Set(records.filter((r) => r.k === 'dur').map((r) => r.id)).size;
  await assertCleanVolume(m, `seed ${roundSeed}`);
  // files unlinked while open when the mount died are gone for good: only the root, /crash and what the walk saw are inodes
  const status = JSON.parse((await m.strata(['status', '--json'])).stdout) as { inodes: number };
  assert.is(status.inodes, 2 + dirs.length + found.size, `seed ${roundSeed}: inodes left behind (orphans not retired?)`);
  state.clear();
  for (const [path, value] of found) state.set(path, value);
}

interface FsckJson {
  clean: boolean;
  reachableObjects: number;
  queuedObjects: number;
  stagedObjects: number;
  storedObjects: number;
  problems: { kind: string; objectKey: string; detail: string }[];
}

/** `strata gc --grace 0` then `strata fsck`: exit 0, no problem, and the store holds exactly what is reachable. */
async function assertCleanVolume(m: TestMount, step: string): Promise<void> {
  await m.strata(['gc', '--grace', '0']);
  const fsck = await m.strata(['fsck', '--json'], { allowFailure: true });
  const report = JSON.parse(fsck.stdout) as FsckJson;
  assert.is(fsck.code, 0, `${step}: strata fsck exited ${fsck.code}: ${JSON.stringify(report.problems.slice(0, 10))}`);
  assert.equal(report.problems, [], `${step}: fsck problems`);
  assert.is(report.stagedObjects, 0, `${step}: staged objects left after gc --grace 0`);
  assert.is(report.queuedObjects, 0, `${step}: queued objects left after gc --grace 0`);
  assert.is(report.storedObjects, report.reachableObjects, `${step}: the store holds ${report.storedObjects} objects, ${report.reachableObjects} reachable`);
  const partial = await interruptedWrites(join(m.home, 'default', 'objects'));
  assert.equal(partial, [], `${step}: temporary files of interrupted object writes are left in the file backend`);
}

/** `.tmp-*` files under the file backend's folder: object writes a crash cut short. */
async function interruptedWrites(folder: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) found.push(...(await interruptedWrites(join(folder, entry.name))));
    else if (entry.name.startsWith('.tmp-')) found.push(join(folder, entry.name));
  }
  return found;
}

async function runSeeds(m: TestMount, seeds: number[], rounds: number): Promise<void> {
  const workDir = await makeTempDir('crash-journal');
  try {
    await m.sh(`mkdir -p ${m.mountpoint}/crash`);
    const state: Found = new Map();
    for (const seed of seeds) {
      for (let round = 0; round < rounds; round++) await crashRound(m, workDir, state, seed * 100 + round);
    }
    // A clean stop after the crashes: the last state survives an ordinary unmount and remount.
    await m.unmount();
    await m.remount();
    assert.equal(await walk(join(m.mountpoint, 'crash')), state);
    await assertCleanVolume(m, 'after the last remount');
  } finally {
    await removeDir(workDir);
  }
}

const test = suite('crash consistency');

test('SIGKILLed mounts on the file backend lose nothing fsynced or closed and never show a torn file', async () => {
  const m = await startMount();
  try {
    await runSeeds(m, SEEDS, ROUNDS);
    assert.ok(tally.orphansRecovered > 0, 'no remount had an orphan to retire');
    assert.ok(tally.stagedRecovered > 0, 'no remount had staged objects to clean up');
  } finally {
    await m.cleanup();
  }
});

test('SIGKILLed mounts on an S3 backend recover the same way', async () => {
  let s3: RunningS3rver | undefined;
  let m: TestMount | undefined;
  try {
    s3 = await startS3rver();
    m = await startMount({
      args: ['--object-backend', 's3', '--bucket', s3.bucket, '--endpoint', s3.endpoint, '--path-style', '--prefix', 'crash/'],
      env: { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' },
    });
    await runSeeds(m, S3_SEEDS, ROUNDS);
  } finally {
    await m?.cleanup();
    await s3?.stop();
  }
});

test('files created and closed unwritten, or listed right after their create, survive a SIGKILL at once', async () => {
  const m = await startMount();
  try {
    const dir = m.mountpoint;
    const pid = m.pid()!;
    // The shell's kill lands within a millisecond of the last close: before any timer would commit.
    await m.sh(`mkdir ${dir}/made && touch ${dir}/made/empty-1 ${dir}/made/empty-2 && ls ${dir}/made > ${dir}/../listing && : > ${dir}/made/truncated && kill -9 ${pid}`, { allowFailure: true });
    await m.kill();
    assert.is(await readFile(join(dir, '..', 'listing'), 'utf8'), 'empty-1\nempty-2\n', 'the listing right after the creates names them');
    await m.remount();
    assert.equal((await readdir(join(dir, 'made'))).sort(), ['empty-1', 'empty-2', 'truncated']);
    await assertCleanVolume(m, 'after the kill');
  } finally {
    await m.cleanup();
  }
});

test.after(() => {
  process.stdout.write(`\ncrash test: ${tally.kills} kills (seeds ${SEEDS.join(',')} on file, ${S3_SEEDS.join(',')} on s3, ${ROUNDS} rounds each); ` +
    `landed after ${JSON.stringify(tally.landedAfter)}; orphans recovered in ${tally.orphansRecovered} remounts, staged objects in ${tally.stagedRecovered}; ` +
    `${tally.filesChecked} files and ${tally.durableChecked} durable files checked\n`);
});

test.run();
