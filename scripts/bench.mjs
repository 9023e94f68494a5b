#!/usr/bin/env node
// Strata beside its ceiling and its peers, in one run (numbers on a shared machine are noisy: only
// compare figures from the same run). Targets: local disk; a null fuse-native filesystem with
// Strata's mount options (scripts/bench-null-fs.mjs), the ceiling for any fuse-native filesystem;
// Strata on the file backend and on s3rver (also in write-back mode); s3rver's own PUT and GET rates
// with the AWS SDK (4 MiB objects, 8 in flight), the bar for Strata's sequential figures on s3rver;
// s3fs and rclone on s3rver when installed; and, for random reads only, Strata on the file backend
// with readahead off (strata-file-ra0), the bar for its random reads with readahead on. Every
// workload runs through the kernel with ordinary tools (dd, fio, ls, tar, rsync) or
// scripts/bench-worker.mjs, each in a child process and capped in time; every FUSE server runs in
// its own child process.
//
//   scripts/bench [--quick] [--targets local,null,strata-file,strata-file-ra0,s3rver,strata-s3,strata-s3-wb,s3fs,rclone]
//                 [--workloads seq,parallel,randread,files-1k,files-10k,stat,ls,untar,rsync]
//                 [--rounds <n>] [--json <file>] [--cap <seconds>] [--work-dir <dir>] [--keep]
//
// With --rounds n, every target runs every workload n times, targets taking turns round by round
// (so a slow minute on this shared machine hits them all alike), and the tables show the median.
//
// Needs `npm run build` (Strata runs from dist/), root (FUSE mounts, drop_caches), fio and rsync.
// Cold reads: the kernel's caches are dropped before every read workload, and Strata, s3fs and
// rclone are unmounted and mounted again first, so no in-process cache survives either. dd writes
// use conv=fsync; small files, tar and rsync stop the clock at the last close (no sync).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STRATA_BIN = join(ROOT, 'dist/src/cli/main.js');
const NULL_FS = join(ROOT, 'scripts/bench-null-fs.mjs');
const WORKER = join(ROOT, 'scripts/bench-worker.mjs');
const S3_RAW = join(ROOT, 'scripts/bench-s3-raw.mjs');
const S3RVER_HELPER = join(ROOT, 'dist/test/helpers/s3rver.js');
const MiB = 1024 * 1024;

const ALL_TARGETS = ['local', 'null', 'strata-file', 'strata-file-ra0', 's3rver', 'strata-s3', 'strata-s3-wb', 's3fs', 'rclone'];
const ALL_WORKLOADS = ['seq', 'parallel', 'randread', 'files-1k', 'files-10k', 'stat', 'ls', 'untar', 'rsync'];

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: scripts/bench [--quick] [--targets ${ALL_TARGETS.join(',')}]
                     [--workloads ${ALL_WORKLOADS.join(',')}]
                     [--rounds <n>] [--json <file>] [--cap <seconds>] [--work-dir <dir>] [--keep]`;

function parseOptions(argv) {
  const options = { quick: false, targets: ALL_TARGETS, workloads: ALL_WORKLOADS, rounds: 1, json: undefined, capS: undefined, workDir: '/var/tmp', keep: false };
  const list = (value, allowed, what) => {
    const items = String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = items.filter((item) => !allowed.includes(item));
    if (items.length === 0 || unknown.length > 0) usage(`unknown ${what}: ${unknown.join(',') || '(none)'}; choose from ${allowed.join(',')}`);
    return items;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${arg} needs a value`));
    if (arg === '--quick') options.quick = true;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--targets') options.targets = list(value(), ALL_TARGETS, 'target');
    else if (arg === '--workloads') options.workloads = list(value(), ALL_WORKLOADS, 'workload');
    else if (arg === '--json') options.json = resolve(value());
    else if (arg === '--work-dir') options.workDir = resolve(value());
    else if (arg === '--rounds') {
      options.rounds = Number(value());
      if (!Number.isInteger(options.rounds) || options.rounds < 1) usage('--rounds takes a whole number of at least 1');
    } else if (arg === '--cap') {
      options.capS = Number(value());
      if (!(options.capS > 0)) usage('--cap takes a positive number of seconds');
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else usage(`unknown argument ${arg}`);
  }
  return options;
}

function usage(message) {
  process.stderr.write(`scripts/bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const options = parseOptions(process.argv.slice(2));

const SIZES = options.quick
  ? { seqMiB: 16, streams: 4, streamMiB: 4, fioMiB: 8, fioRuntimeS: 1, fewFiles: 50, manyFiles: 200, fileBytes: 4096, tree: 'node_modules/uvu', capS: 30 }
  : { seqMiB: 1024, streams: 4, streamMiB: 256, fioMiB: 256, fioRuntimeS: 15, fewFiles: 1000, manyFiles: 10000, fileBytes: 4096, tree: 'node_modules/@aws-sdk', capS: 120 };
if (options.capS !== undefined) SIZES.capS = options.capS;
const capMs = SIZES.capS * 1000;
/** How long a Strata mount may take to finish its background moves and uploads before a workload. */
const QUIESCE_CAP_MS = 600_000;

// ---------------------------------------------------------------------------------------------
// Child processes: every command and every FUSE server, killed on the way out whatever happens.

const running = new Set();
const cleanups = [];
let stopping = false;

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* gone */ }
  }
}

/**
 * Runs a command in its own process group; resolves with its wall time, exit status and output.
 * With capMs, the group is SIGKILLed at the cap and the result says `capped`.
 */
function run(command, args, { cap = 0, env, stdout = 'pipe' } = {}) {
  return new Promise((resolveRun, rejectRun) => {
    const start = performance.now();
    const child = spawn(command, args, { detached: true, stdio: ['ignore', stdout, 'pipe'], env: env ?? process.env });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 1_000_000) err = err.slice(-100_000);
    });
    let capped = false;
    const timer = cap > 0 ? setTimeout(() => { capped = true; killGroup(child, 'SIGKILL'); }, cap) : undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      rejectRun(error);
    });
    child.once('close', (code, signal) => {
      const ms = performance.now() - start;
      clearTimeout(timer);
      running.delete(child);
      resolveRun({ ms, code, signal, capped, stdout: out, stderr: err });
    });
  });
}

/** run(), but a failure that is not the cap throws with the command and its stderr. */
async function mustRun(command, args, opts) {
  const result = await run(command, args, opts);
  if (!result.capped && result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}: ${tail}`);
  }
  return result;
}

async function commandExists(name) {
  const result = await run('sh', ['-c', 'command -v "$1"', 'sh', name]);
  return result.code === 0;
}

async function isMounted(mountpoint) {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === mountpoint);
}

async function detach(mountpoint) {
  for (const [command, args] of [['fusermount', ['-u', mountpoint]], ['fusermount', ['-uz', mountpoint]], ['umount', ['-l', mountpoint]]]) {
    if (!(await isMounted(mountpoint))) return;
    await run(command, args).catch(() => undefined);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function tailOf(file, lines = 20) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Starts a FUSE server in a child process (output appended to logFile) and waits until the kernel
 * lists its mount (and `ready(log)` holds). stop(): SIGTERM, wait, SIGKILL after graceMs, then
 * detach the mount point if the server left it behind.
 */
async function startServer({ name, mountpoint, command, args, env, logFile, ready = () => true, graceMs = 60_000 }) {
  const logStart = await stat(logFile).then((s) => s.size, () => 0);
  const log = await open(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log.fd, log.fd], env: env ?? process.env });
  await log.close();
  const exited = once(child, 'exit').catch(() => undefined);
  let spawnError;
  child.once('error', (error) => (spawnError = error));
  let stopped;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
        if (!done) {
          process.stderr.write(`[bench] ${name} did not stop within ${graceMs / 1000} s of SIGTERM; killing it\n`);
          child.kill('SIGKILL');
          await exited;
        }
      }
      await detach(mountpoint);
    })());
  cleanups.push(stop);
  for (let waitedMs = 0; ; waitedMs += 100) {
    if (spawnError) throw new Error(`${name}: ${command} failed to start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before mounting:\n${await tailOf(logFile)}`);
    }
    if ((await isMounted(mountpoint)) && ready((await readFile(logFile, 'utf8').catch(() => '')).slice(logStart))) break;
    if (waitedMs > 60_000) {
      await stop();
      throw new Error(`${name} did not mount within 60 s:\n${await tailOf(logFile)}`);
    }
    await sleep(100);
  }
  return { stop, alive: () => child.exitCode === null && child.signalCode === null };
}

let dropWarned = false;
async function dropCaches() {
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3');
  } catch (err) {
    if (!dropWarned) process.stderr.write(`[bench] cannot drop the kernel's caches (${err.code}); reads are not cold\n`);
    dropWarned = true;
  }
}

/**
 * Lets the machine settle before a timed workload: `sync` writes back the page cache (local disk),
 * and a Strata mount finishes the moves and uploads staged by earlier work. Records the longest wait.
 */
async function quiesce(t, before) {
  await mustRun('sync', []);
  if (!t.quiesce) return;
  const seconds = await t.quiesce();
  if (seconds > (t.state.longestQuiesce?.seconds ?? 0)) t.state.longestQuiesce = { seconds, before };
}

// ---------------------------------------------------------------------------------------------
// Metrics: what each workload reports. `better` says which direction is faster.

const sizeText = (mib) => (mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`);
const countText = (n) => n.toLocaleString('en-US');

function metricList(treeFiles) {
  const s = SIZES;
  const tree = s.tree.replace('node_modules/', '');
  return [
    { key: 'seq-write', workload: 'seq', label: `seq write ${sizeText(s.seqMiB)} (dd conv=fsync)`, unit: 'MB/s', better: 'higher' },
    { key: 'seq-read', workload: 'seq', label: `seq read ${sizeText(s.seqMiB)}, cold`, unit: 'MB/s', better: 'higher' },
    { key: 'par-write', workload: 'parallel', label: `${s.streams} x ${sizeText(s.streamMiB)} parallel write`, unit: 'MB/s', better: 'higher' },
    { key: 'par-read', workload: 'parallel', label: `${s.streams} x ${sizeText(s.streamMiB)} parallel read, cold`, unit: 'MB/s', better: 'higher' },
    { key: 'randread', workload: 'randread', label: `fio 4 KiB randread ${sizeText(s.fioMiB)}, ${s.fioRuntimeS} s`, unit: 'IOPS', better: 'higher' },
    { key: 'files-few', workload: 'files-1k', label: `create ${countText(s.fewFiles)} x 4 KiB files`, unit: 'files/s', better: 'higher' },
    { key: 'files-many', workload: 'files-10k', label: `create ${countText(s.manyFiles)} x 4 KiB files`, unit: 'files/s', better: 'higher' },
    { key: 'stat', workload: 'stat', label: `stat ${countText(s.manyFiles)} files`, unit: 'stats/s', better: 'higher' },
    { key: 'ls', workload: 'ls', label: `ls -l ${countText(s.manyFiles)} entries`, unit: 's', better: 'lower' },
    { key: 'untar-s', workload: 'untar', label: `untar ${tree} (${countText(treeFiles)} files)`, unit: 's', better: 'lower' },
    { key: 'untar-rate', workload: 'untar', label: `untar ${tree}`, unit: 'files/s', better: 'higher' },
    { key: 'rsync-s', workload: 'rsync', label: `rsync -a ${tree}`, unit: 's', better: 'lower' },
    { key: 'rsync-rate', workload: 'rsync', label: `rsync -a ${tree}`, unit: 'files/s', better: 'higher' },
  ];
}

/** A throughput figure for `bytes` moved by a run; past the cap it is an upper bound. */
const rateOf = (bytes, runResult) =>
  runResult.capped ? { value: bytes / 1e6 / SIZES.capS, bound: '<', note: `> ${SIZES.capS} s` } : { value: bytes / 1e6 / (runResult.ms / 1000), ms: runResult.ms };

/** Seconds and files/s of a fixed amount of work; past the cap both are bounds. */
const secondsAndRate = (files, ms, capped) =>
  capped
    ? [{ value: SIZES.capS, bound: '>', note: `> ${SIZES.capS} s` }, { value: files / SIZES.capS, bound: '<', note: `> ${SIZES.capS} s` }]
    : [{ value: ms / 1000, ms }, { value: files / (ms / 1000), ms }];

function bytesCopied(ddStderr) {
  const match = /^(\d+) bytes/m.exec(ddStderr);
  return match ? Number(match[1]) : NaN;
}

// ---------------------------------------------------------------------------------------------
// Workloads. Each takes a started target { name, dir, cold(), verify, state } and returns figures
// keyed by metric key.

function makeWorkloads(shared) {
  const warm = (file) => mustRun('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none']);
  const warmTree = () => mustRun('sh', ['-c', 'tar -cf - -C "$1" . | cat > /dev/null', 'sh', shared.treeDir]);

  /** Reads `file` (expected `bytes` long) with dd; throws on a short read. */
  const readBack = async (file, bytes) => {
    const result = await mustRun('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M'], { cap: capMs });
    if (!result.capped && bytesCopied(result.stderr) !== bytes) throw new Error(`short read of ${file}: ${bytesCopied(result.stderr)} of ${bytes} bytes`);
    return result;
  };
  const verifyBody = async (t, file, bytes) => {
    if (!t.verify) return;
    const result = await run('cmp', ['-n', String(bytes), shared.source, file], { cap: capMs });
    if (result.code !== 0 && !result.capped) throw new Error(`${file} does not read back what was written: ${result.stdout.trim() || result.stderr.trim()}`);
  };

  /** Runs scripts/bench-worker.mjs; throws its own account of a failed call, or of a crash. */
  const worker = async (args) => {
    const result = await run(process.execPath, [WORKER, ...args], { cap: capMs + 60_000 });
    if (result.capped) throw new Error(`bench-worker ${args[0]} did not stop within ${SIZES.capS + 60} s`);
    let report;
    try {
      report = JSON.parse(result.stdout);
    } catch {
      throw new Error(`bench-worker ${args[0]} exited with ${result.code ?? result.signal}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
    if (report.error) throw new Error(`${report.error} (after ${countText(report.done)} in ${fmt(report.ms / 1000)} s)`);
    return report;
  };

  /** The directory of many small files stat and ls work on: made by files-10k, or here untimed. */
  const manyFiles = async (t) => {
    if (t.state.many) return t.state.many;
    if (t.state.manyError) throw new Error(`skipped: creating the ${countText(SIZES.manyFiles)} files failed`);
    const dir = join(t.dir, `files-${SIZES.manyFiles}`);
    try {
      const { done } = await worker(['create', dir, String(SIZES.manyFiles), String(SIZES.fileBytes), String(capMs)]);
      await quiesce(t, 'the untimed creation of the files');
      return (t.state.many = { dir, done });
    } catch (err) {
      t.state.manyError = err;
      throw err;
    }
  };

  const createFiles = async (t, count) => {
    const dir = join(t.dir, `files-${count}`);
    let report;
    try {
      report = await worker(['create', dir, String(count), String(SIZES.fileBytes), String(capMs)]);
    } catch (err) {
      if (count === SIZES.manyFiles) t.state.manyError = err;
      throw err;
    }
    const { done, ms } = report;
    if (count === SIZES.manyFiles) t.state.many = { dir, done };
    const figure = { value: done / (ms / 1000), ms, count: done };
    if (done < count) figure.note = `${countText(done)} of ${countText(count)} files in the ${SIZES.capS} s cap`;
    return figure;
  };

  const tree = async (t, what, command) => {
    await warm(shared.tarball);
    await warmTree();
    const dest = join(t.dir, what);
    await mustRun('mkdir', ['-p', dest]);
    const result = await run(command[0], [...command.slice(1), dest + (what === 'rsync' ? '/' : '')], { cap: capMs });
    if (!result.capped && result.code !== 0) {
      const lines = result.stderr.trim().split('\n');
      throw new Error(`${command[0]} exited with ${result.code ?? result.signal} after ${fmt(result.ms / 1000)} s (${lines.length} lines on stderr): ${lines.slice(0, 2).join(' / ')}`);
    }
    return secondsAndRate(shared.treeFiles, result.ms, result.capped);
  };

  return {
    async seq(t) {
      const file = join(t.dir, 'seq.bin');
      const bytes = SIZES.seqMiB * MiB;
      await warm(shared.source);
      const write = await mustRun('dd', [`if=${shared.source}`, `of=${file}`, 'bs=1M', `count=${SIZES.seqMiB}`, 'conv=fsync', 'status=none'], { cap: capMs });
      const out = { 'seq-write': rateOf(bytes, write) };
      if (write.capped) return { ...out, 'seq-read': { error: `skipped: the write passed the ${SIZES.capS} s cap` } };
      await t.cold();
      const read = await readBack(file, bytes);
      out['seq-read'] = rateOf(bytes, read);
      if (!read.capped) await verifyBody(t, file, bytes);
      return out;
    },

    async parallel(t) {
      const bytes = SIZES.streamMiB * MiB;
      const files = Array.from({ length: SIZES.streams }, (_, i) => join(t.dir, `stream-${i}.bin`));
      await warm(shared.source);
      const startW = performance.now();
      const writes = await Promise.all(
        files.map((file, i) => mustRun('dd', [`if=${shared.source}`, `of=${file}`, 'bs=1M', `count=${SIZES.streamMiB}`, `skip=${i * SIZES.streamMiB}`, 'conv=fsync', 'status=none'], { cap: capMs })),
      );
      const writeMs = performance.now() - startW;
      const total = bytes * SIZES.streams;
      const wroteCapped = writes.some((w) => w.capped);
      const out = { 'par-write': rateOf(total, { ms: writeMs, capped: wroteCapped }) };
      if (wroteCapped) return { ...out, 'par-read': { error: `skipped: the writes passed the ${SIZES.capS} s cap` } };
      await t.cold();
      const startR = performance.now();
      const reads = await Promise.all(files.map((file) => readBack(file, bytes)));
      out['par-read'] = rateOf(total, { ms: performance.now() - startR, capped: reads.some((r) => r.capped) });
      return out;
    },

    async randread(t) {
      const file = join(t.dir, 'fio.bin');
      await warm(shared.source);
      const layout = await mustRun('dd', [`if=${shared.source}`, `of=${file}`, 'bs=1M', `count=${SIZES.fioMiB}`, 'conv=fsync', 'status=none'], { cap: capMs });
      if (layout.capped) return { randread: { error: `could not write the ${sizeText(SIZES.fioMiB)} test file within the ${SIZES.capS} s cap` } };
      await t.cold();
      const fio = await mustRun(
        'fio',
        ['--name=r', '--rw=randread', '--bs=4k', `--size=${SIZES.fioMiB}M`, `--runtime=${SIZES.fioRuntimeS}`, '--time_based', `--filename=${file}`, '--output-format=json'],
        { cap: SIZES.fioRuntimeS * 1000 + capMs },
      );
      if (fio.capped) return { randread: { error: `fio did not finish within ${SIZES.fioRuntimeS + SIZES.capS} s` } };
      const report = JSON.parse(fio.stdout.slice(fio.stdout.indexOf('{')));
      const job = report.jobs[0];
      if (job.error) throw new Error(`fio failed with error ${job.error}: ${fio.stderr.trim()}`);
      return { randread: { value: job.read.iops, count: job.read.total_ios } };
    },

    async 'files-1k'(t) {
      return { 'files-few': await createFiles(t, SIZES.fewFiles) };
    },

    async 'files-10k'(t) {
      return { 'files-many': await createFiles(t, SIZES.manyFiles) };
    },

    async stat(t) {
      const { dir } = await manyFiles(t);
      await dropCaches();
      const { done, total, ms } = await worker(['stat', dir, String(capMs)]);
      const figure = { value: done / (ms / 1000), ms, count: done };
      if (done < total) figure.note = `${countText(done)} of ${countText(total)} in the ${SIZES.capS} s cap`;
      else if (total < SIZES.manyFiles) figure.note = `${countText(total)} files (creating them passed the cap)`;
      return { stat: figure };
    },

    async ls(t) {
      const { dir, done } = await manyFiles(t);
      await dropCaches();
      const result = await mustRun('ls', ['-l', dir], { cap: capMs, stdout: 'ignore' });
      const figure = result.capped ? { value: SIZES.capS, bound: '>', note: `> ${SIZES.capS} s` } : { value: result.ms / 1000, ms: result.ms, count: done };
      if (done < SIZES.manyFiles && !result.capped) figure.note = `${countText(done)} entries (creating them passed the cap)`;
      return { ls: figure };
    },

    async untar(t) {
      const [seconds, rate] = await tree(t, 'untar', ['tar', '-xf', shared.tarball, '-C']);
      return { 'untar-s': seconds, 'untar-rate': rate };
    },

    async rsync(t) {
      const [seconds, rate] = await tree(t, 'rsync', ['rsync', '-a', shared.treeDir + '/']);
      return { 'rsync-s': seconds, 'rsync-rate': rate };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Targets. start() returns { dir, cold(), stop(), verify, logFile? }.

function makeTargets(work) {
  const s3rver = async () => {
    const { startS3rver } = await import(S3RVER_HELPER);
    const server = await startS3rver();
    cleanups.push(() => server.stop());
    return server;
  };

  /** Strata mounted on an s3rver of its own, which stops with it. */
  const strataOnS3rver = async (name, mountArgs) => {
    const s3 = await s3rver();
    const target = await strata(name, ['--object-backend', 's3', '--endpoint', s3.endpoint, '--bucket', s3.bucket, '--path-style', ...mountArgs], {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    }).catch(async (err) => {
      await s3.stop();
      throw err;
    });
    return { ...target, stop: async () => { await target.stop(); await s3.stop(); } };
  };

  const strata = async (name, objectArgs, env) => {
    const base = join(work, name);
    const home = join(base, 'home');
    const mnt = join(base, 'mnt');
    await mkdir(mnt, { recursive: true });
    const logFile = join(base, 'mount.log');
    const launch = () =>
      startServer({
        name,
        mountpoint: mnt,
        command: process.execPath,
        args: [STRATA_BIN, 'mount', mnt, '--foreground', '--home', home, ...objectArgs],
        env: { ...process.env, ...env },
        logFile,
        ready: (log) => log.includes('"mounted"'),
        graceMs: 120_000,
      });
    let server = await launch();
    return {
      dir: mnt,
      logFile,
      verify: true,
      alive: () => server.alive(),
      /**
       * Waits until the mount has nothing staged left to move or upload and no upload in flight:
       * the background work the workloads before it left, which `sync` settles for a local disk.
       * Resolves with the seconds waited.
       */
      quiesce: async () => {
        const startedMs = Date.now();
        for (;;) {
          const status = JSON.parse((await mustRun(process.execPath, [STRATA_BIN, 'status', '--json', '--home', home], { env: { ...process.env, ...env } })).stdout);
          if (status.writebackPending === 0 && status.uploadsInFlight === 0) return (Date.now() - startedMs) / 1000;
          if (Date.now() - startedMs > QUIESCE_CAP_MS) throw new Error(`${name} still had ${status.writebackPending} staged objects after ${QUIESCE_CAP_MS / 1000} s`);
          await sleep(500);
        }
      },
      cold: async () => {
        await server.stop();
        server = await launch();
        await dropCaches();
      },
      stop: () => server.stop(),
    };
  };

  /** s3fs or rclone: a FUSE server on s3rver, remounted for cold reads. */
  const peer = async (name, command, args, env, mnt) => {
    const logFile = join(work, name, 'mount.log');
    const launch = () => startServer({ name, mountpoint: mnt, command, args, env, logFile, graceMs: 30_000 });
    let server = await launch();
    return {
      dir: mnt,
      logFile,
      verify: true,
      alive: () => server.alive(),
      cold: async () => {
        await server.stop();
        server = await launch();
        await dropCaches();
      },
      stop: () => server.stop(),
    };
  };

  return {
    local: {
      label: 'local disk',
      start: async () => {
        const dir = join(work, 'local');
        await mkdir(dir, { recursive: true });
        return { dir, verify: true, alive: () => true, cold: dropCaches, stop: async () => undefined };
      },
    },
    null: {
      label: 'null FUSE (ceiling)',
      start: async () => {
        const mnt = join(work, 'null', 'mnt');
        await mkdir(mnt, { recursive: true });
        const logFile = join(work, 'null', 'mount.log');
        const server = await startServer({ name: 'null', mountpoint: mnt, command: process.execPath, args: [NULL_FS, mnt], logFile, ready: (log) => log.includes('mounted'), graceMs: 30_000 });
        // Its contents live only in its memory: a remount would forget them, so no remount here.
        return { dir: mnt, logFile, verify: false, alive: () => server.alive(), cold: dropCaches, stop: () => server.stop() };
      },
    },
    'strata-file': {
      label: 'Strata, file backend',
      start: () => strata('strata-file', [], {}),
    },
    'strata-file-ra0': {
      label: 'Strata, file backend, readahead off (--readahead 0)',
      /** A control: strata-file's random reads must be no slower than these. */
      controlFor: 'strata-file',
      workloads: ['randread'],
      start: () => strata('strata-file-ra0', ['--readahead', '0'], {}),
    },
    s3rver: {
      label: "s3rver's own PUT / GET rate (AWS SDK)",
      /** Only the sequential figures: PUT and GET of the same amount of data as the dd runs. */
      measure: async () => {
        const s3 = await s3rver();
        try {
          const env = { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey };
          const result = await mustRun(process.execPath, [S3_RAW, s3.endpoint, s3.bucket, String(SIZES.seqMiB)], { cap: capMs * 2, env });
          if (result.capped) throw new Error(`s3rver PUT and GET of ${sizeText(SIZES.seqMiB)} took over ${2 * SIZES.capS} s`);
          const { putMBs, getMBs } = JSON.parse(result.stdout);
          return { 'seq-write': { value: putMBs }, 'seq-read': { value: getMBs } };
        } finally {
          await s3.stop();
        }
      },
    },
    'strata-s3': {
      label: 'Strata on s3rver',
      start: () => strataOnS3rver('strata-s3', []),
    },
    'strata-s3-wb': {
      label: 'Strata on s3rver, --writeback',
      start: () => strataOnS3rver('strata-s3-wb', ['--writeback']),
    },
    s3fs: {
      label: 's3fs on s3rver',
      requires: 's3fs',
      start: async () => {
        const s3 = await s3rver();
        const base = join(work, 's3fs');
        const mnt = join(base, 'mnt');
        await mkdir(mnt, { recursive: true });
        const passwd = join(base, 'passwd');
        await writeFile(passwd, `${s3.credentials.accessKeyId}:${s3.credentials.secretAccessKey}\n`, { mode: 0o600 });
        const args = [s3.bucket, mnt, '-f', '-o', `passwd_file=${passwd},url=${s3.endpoint},use_path_request_style`];
        const target = await peer('s3fs', 's3fs', args, process.env, mnt).catch(async (err) => {
          await s3.stop();
          throw err;
        });
        return { ...target, stop: async () => { await target.stop(); await s3.stop(); } };
      },
    },
    rclone: {
      label: 'rclone on s3rver',
      requires: 'rclone',
      start: async () => {
        const s3 = await s3rver();
        const base = join(work, 'rclone');
        const mnt = join(base, 'mnt');
        await mkdir(mnt, { recursive: true });
        const config = join(base, 'rclone.conf');
        await writeFile(config, '');
        // rclone refuses to start when AWS_CA_BUNDLE is set (even for plain http).
        const args = ['-u', 'AWS_CA_BUNDLE', 'rclone', 'mount', `:s3:${s3.bucket}`, mnt, '--config', config,
          '--s3-provider', 'Other', '--s3-endpoint', s3.endpoint, '--s3-access-key-id', s3.credentials.accessKeyId,
          '--s3-secret-access-key', s3.credentials.secretAccessKey, '--s3-force-path-style=true', '--vfs-cache-mode', 'off'];
        const target = await peer('rclone', 'env', args, process.env, mnt).catch(async (err) => {
          await s3.stop();
          throw err;
        });
        return { ...target, stop: async () => { await target.stop(); await s3.stop(); } };
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(value) {
  if (!Number.isFinite(value)) return '?';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toString();
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The footnote number of `text`, added once however many cells cite it. */
function noteRef(notes, text) {
  const short = text.split('\n').slice(0, 3).map((line) => (line.length > 240 ? line.slice(0, 240) + '...' : line)).join('\n    ');
  const at = notes.indexOf(short);
  return `[${(at >= 0 ? at : notes.push(short) - 1) + 1}]`;
}

function cell(figure, notes) {
  if (!figure) return '-';
  if (figure.error) return `error${noteRef(notes, figure.error)}`;
  const text = (figure.bound ?? '') + fmt(figure.value);
  return figure.note && !figure.bound ? text + noteRef(notes, figure.note) : text;
}

/**
 * A target's rounds as one result. Each figure is the median round's, an observed figure rather than
 * an average (of two middle rounds, the slower), with every round's value beside it; a figure no
 * round measured keeps its first error, and one some rounds failed says so.
 */
function mergeRounds(runs, metrics) {
  if (runs.length === 1) return runs[0];
  const ok = runs.filter((run) => run.status === 'ok');
  const merged = { label: runs[0].label, status: ok.length > 0 ? 'ok' : runs[0].status, metrics: {}, seconds: runs.reduce((sum, run) => sum + (run.seconds ?? 0), 0) };
  const longestQuiesce = runs.map((run) => run.longestQuiesce).filter(Boolean).sort((a, b) => b.seconds - a.seconds)[0];
  if (longestQuiesce) merged.longestQuiesce = longestQuiesce;
  const errors = runs.filter((run) => run.error).map((run) => run.error);
  if (ok.length === 0) {
    if (errors.length > 0) merged.error = errors[0];
    return merged;
  }
  for (const m of metrics) {
    const figures = runs.map((run) => (run.status === 'ok' ? run.metrics[m.key] : { error: run.error ?? run.status }));
    if (figures.every((f) => !f)) continue;
    const measured = figures.filter((f) => f && !f.error && Number.isFinite(f.value));
    if (measured.length === 0) {
      merged.metrics[m.key] = figures.find(Boolean);
      continue;
    }
    const slowestFirst = [...measured].sort((a, b) => (m.better === 'higher' ? a.value - b.value : b.value - a.value));
    const median = slowestFirst[Math.floor((slowestFirst.length - 1) / 2)];
    const figure = { ...median, rounds: figures.map((f) => (f && !f.error ? f.value : null)) };
    const failed = figures.filter((f) => !f || f.error);
    if (failed.length > 0) figure.note = [median.note, `failed in ${failed.length} of ${runs.length} rounds: ${failed.find((f) => f?.error)?.error ?? 'not measured'}`].filter(Boolean).join('; ');
    merged.metrics[m.key] = figure;
  }
  const failures = runs.flatMap((run) => run.failures ?? []);
  if (failures.length > 0) merged.failures = failures;
  return merged;
}

/** Speed of Strata's figure over another's (> 1: Strata is faster), with bounds carried through. */
function ratioOf(metric, strata, other) {
  if (!strata || !other || strata.error || other.error || !(strata.value > 0) || !(other.value > 0)) return undefined;
  const higher = metric.better === 'higher';
  const value = higher ? strata.value / other.value : other.value / strata.value;
  const flip = (b) => (b === '>' ? '<' : b === '<' ? '>' : undefined);
  const bounds = [higher ? strata.bound : flip(strata.bound), higher ? flip(other.bound) : other.bound].filter(Boolean);
  const bound = bounds.length === 0 ? undefined : bounds.every((b) => b === bounds[0]) ? bounds[0] : '?';
  return { value, bound };
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join('  ')).join('\n');
}

function report(results, metrics, targets, ratios, header) {
  const notes = [];
  const shown = metrics.filter((m) => options.workloads.includes(m.workload));
  const figures = [['workload', 'unit', ...targets], ...shown.map((m) => [m.label, m.unit, ...targets.map((t) => (results[t].status === 'ok' ? cell(results[t].metrics[m.key], notes) : results[t].status))])];
  const ratioKeys = Object.keys(ratios);
  const lines = [header, '', table(figures)];
  if (ratioKeys.length > 0) {
    const ratioRows = [['Strata / other (speed; > 1: Strata faster)', ...ratioKeys], ...shown.filter((m) => !m.key.endsWith('-rate')).map((m) => [m.label, ...ratioKeys.map((k) => (ratios[k][m.key] ? (ratios[k][m.key].bound ?? '') + fmt(ratios[k][m.key].value) : '-'))])];
    lines.push('', table(ratioRows));
  }
  for (const t of targets) if (results[t].error) noteRef(notes, `${t}: ${results[t].error}`);
  for (const t of targets) {
    const waited = results[t].longestQuiesce;
    if (waited) noteRef(notes, `${t} waited up to ${fmt(waited.seconds)} s (before ${waited.before}) for its background moves and uploads to finish; no figure includes the wait.`);
  }
  if (notes.length > 0) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  lines.push(
    '',
    `">${SIZES.capS}" or "<x": the work passed the ${SIZES.capS} s cap and was stopped, so the figure is a bound. MB/s = 10^6 bytes/s.`,
    ...(options.rounds > 1 ? [`Each figure is the median of ${options.rounds} rounds (of two middle rounds, the slower); the JSON has every round's value.`] : []),
    'Reads are cold: kernel caches dropped, and Strata, s3fs and rclone remounted, before each.',
    'Each workload starts after `sync`, and on a Strata mount once it has moved or uploaded what the work before staged (`strata status`: nothing staged, nothing in flight).',
    "Small files, tar and rsync stop the clock when the last close returns, without sync (Strata's close publishes: like local disk's page cache, it survives a crash of the writer).",
    'Each s3 target runs on its own s3rver (one Node process, on the same disk): it bounds what strata-s3, s3fs and rclone can reach.',
    "The s3rver column is s3rver's own rate with the AWS SDK (4 MiB objects, 8 in flight): PUT under seq write, GET under seq read.",
    "strata-s3-wb is Strata mounted with --writeback: close returns once the objects are staged in the volume's home.",
    ...(targets.includes('strata-file-ra0') ? ['strata-file-ra0 is strata-file with --readahead 0 (no readahead in Strata nor in the kernel), run for random reads only: file/file-ra0 >= 1 means readahead does not slow them.'] : []),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function toolVersions() {
  const versions = {};
  for (const [tool, args] of [['fio', ['--version']], ['s3fs', ['--version']], ['rclone', ['version']], ['rsync', ['--version']], ['tar', ['--version']]]) {
    const result = await run(tool, args, { cap: 10_000 }).catch(() => undefined);
    if (result?.code === 0) versions[tool] = result.stdout.trim().split('\n')[0];
  }
  return versions;
}

const elapsed = (() => {
  const start = Date.now();
  return () => {
    const s = Math.round((Date.now() - start) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
})();
const say = (message) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);

let cleaning;
/** Kills running commands, stops every server (newest first) and removes the work dir; once. */
function cleanupAll() {
  return (cleaning ??= (async () => {
    for (const child of running) killGroup(child, 'SIGKILL');
    for (const stop of cleanups.splice(0).reverse()) await Promise.resolve().then(stop).catch((err) => say(`cleanup: ${err.message}`));
  })());
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping every mount and process this run started`);
    cleanupAll().finally(() => process.exit(130));
  });
}

async function main() {
  const missing = [];
  for (const tool of ['dd', 'fio', 'rsync', 'tar', 'ls', 'cmp', 'fusermount']) if (!(await commandExists(tool))) missing.push(tool);
  const needsBuild = options.targets.some((t) => t.startsWith('strata') || t === 's3fs' || t === 'rclone');
  if (needsBuild) await stat(STRATA_BIN).catch(() => missing.push(`${STRATA_BIN} (run npm run build)`));
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}`);

  await mkdir(options.workDir, { recursive: true });
  const work = await mkdtemp(join(options.workDir, 'strata-bench-'));
  cleanups.unshift(async () => {
    if (options.keep) say(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  });
  const startedAt = new Date();
  say(`work dir ${work} (${options.quick ? 'quick' : 'full'} sizes, cap ${SIZES.capS} s per workload)`);

  // Shared inputs: one random source for every write, and the tree (as a tarball and unpacked).
  const source = join(work, 'source.bin');
  const sourceMiB = Math.max(SIZES.seqMiB, SIZES.streams * SIZES.streamMiB, SIZES.fioMiB);
  await mustRun('dd', ['if=/dev/urandom', `of=${source}`, 'bs=1M', `count=${sourceMiB}`, 'status=none']);
  const tarball = join(work, 'tree.tar');
  const treeParent = join(ROOT, SIZES.tree, '..');
  const treeName = SIZES.tree.split('/').pop();
  await mustRun('tar', ['-cf', tarball, '-C', treeParent, treeName]);
  const treeDir = join(work, 'tree');
  await mkdir(treeDir);
  await mustRun('tar', ['-xf', tarball, '-C', treeDir]);
  const treeFiles = (await readdir(treeDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  const shared = { source, tarball, treeDir, treeFiles };

  const metrics = metricList(treeFiles);
  const workloads = makeWorkloads(shared);
  const targetDefs = makeTargets(work);
  /** One round of every workload on target `name`: its status and figures. */
  const runTarget = async (name) => {
    const def = targetDefs[name];
    const result = { label: def.label, status: 'ok', metrics: {} };
    const targetWorkloads = options.workloads.filter((w) => !def.workloads || def.workloads.includes(w));
    if (stopping || targetWorkloads.length === 0) return undefined;
    if (def.requires && !(await commandExists(def.requires))) {
      result.status = 'not installed';
      say(`${name}: not installed`);
      return result;
    }
    await mkdir(join(work, name), { recursive: true });
    if (def.measure) {
      const targetStart = Date.now();
      try {
        say(`${name}: measuring`);
        result.metrics = await def.measure();
        say(`${name}: ${Object.entries(result.metrics).map(([k, f]) => `${k} ${fmt(f.value)} MB/s`).join(', ')}`);
      } catch (err) {
        result.status = 'failed';
        result.error = err.message;
        say(`${name}: FAILED: ${err.message}`);
      }
      result.seconds = Math.round((Date.now() - targetStart) / 1000);
      return result;
    }
    let target;
    const targetStart = Date.now();
    try {
      say(`${name}: mounting`);
      target = await def.start();
      target.state = {};
      for (const workload of targetWorkloads) {
        if (stopping) break;
        const keys = metrics.filter((m) => m.workload === workload).map((m) => m.key);
        if (!target.alive()) {
          for (const key of keys) result.metrics[key] = { error: `skipped: the ${name} server had exited` };
          continue;
        }
        try {
          await quiesce(target, workload);
          const figures = await workloads[workload](target);
          Object.assign(result.metrics, figures);
          say(`${name} ${workload}: ${keys.map((k) => { const f = figures[k]; const m = metrics.find((x) => x.key === k); return f?.error ? `error (${f.error})` : `${f.bound ?? ''}${fmt(f.value)} ${m.unit}${f.note ? ` (${f.note})` : ''}`; }).join(', ')}`);
        } catch (err) {
          const logTail = target.logFile ? await tailOf(target.logFile, 15) : '';
          const message = stopping ? 'interrupted' : `${err.message}${target.alive() ? '' : ' (the server exited)'}`;
          if (message.startsWith('skipped')) {
            for (const key of keys) result.metrics[key] ??= { error: message };
            say(`${name} ${workload}: ${message}`);
            continue;
          }
          for (const key of keys) result.metrics[key] ??= { error: message };
          result.failures ??= [];
          result.failures.push({ workload, error: message, mountLogTail: logTail });
          say(`${name} ${workload}: FAILED: ${message}${logTail ? `\n--- ${name} mount log (tail) ---\n${logTail}\n---` : ''}`);
        }
      }
    } catch (err) {
      result.status = 'failed';
      result.error = err.message;
      say(`${name}: FAILED: ${err.message}`);
    } finally {
      if (target?.state.longestQuiesce) result.longestQuiesce = target.state.longestQuiesce;
      if (target) {
        say(`${name}: unmounting`);
        await target.stop().catch((err) => say(`${name}: stop failed: ${err.message}`));
      }
      result.seconds = Math.round((Date.now() - targetStart) / 1000);
      // Each target's data goes once it is done, so the disk holds one target's files at a time.
      await rm(join(work, name), { recursive: true, force: true }).catch(() => undefined);
    }
    return result;
  };

  const rounds = {};
  for (let round = 1; round <= options.rounds; round++) {
    if (options.rounds > 1) say(`round ${round} of ${options.rounds}`);
    for (const name of options.targets) {
      const result = await runTarget(name);
      if (result) (rounds[name] ??= []).push(result);
    }
  }
  const results = Object.fromEntries(Object.entries(rounds).map(([name, runs]) => [name, mergeRounds(runs, metrics)]));

  const ran = options.targets.filter((t) => results[t]);
  const isControl = (t) => Boolean(targetDefs[t].controlFor);
  const strataTargets = ran.filter((t) => t.startsWith('strata') && !isControl(t) && results[t].status === 'ok');
  const others = ran.filter((t) => !t.startsWith('strata') && results[t].status === 'ok');
  const controlsOf = (s) => ran.filter((c) => targetDefs[c].controlFor === s && results[c].status === 'ok');
  // Strata on s3rver is compared with s3rver itself and the s3 peers; Strata on files with them only when it ran alone.
  const onS3 = (s) => s.startsWith('strata-s3');
  const peersOf = (s) => others.filter((o) => !['s3rver', 's3fs', 'rclone'].includes(o) || onS3(s) || !strataTargets.some(onS3));
  const ratios = {};
  for (const s of strataTargets) {
    for (const o of [...peersOf(s), ...controlsOf(s)]) {
      const key = `${s.replace('strata-', '')}/${o.replace('strata-', '')}`;
      ratios[key] = {};
      for (const m of metrics) {
        const r = ratioOf(m, results[s].metrics[m.key], results[o].metrics[m.key]);
        if (r) ratios[key][m.key] = r;
      }
    }
  }

  const command = ['scripts/bench', ...process.argv.slice(2)].join(' ');
  const header = `Strata bench: ${command}\n${startedAt.toISOString()}, ${options.quick ? 'quick' : 'full'} sizes, cap ${SIZES.capS} s per workload, ${cpus().length} CPUs, Linux ${release()}, Node ${process.version}; ${options.rounds > 1 ? `medians of ${options.rounds} rounds (targets taking turns)` : 'one run'}, compare within it`;
  process.stdout.write(report(results, metrics, ran, ratios, header) + '\n');

  if (options.json) {
    const json = {
      command,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      quick: options.quick,
      rounds: options.rounds,
      capSeconds: SIZES.capS,
      sizes: { ...SIZES, treeFiles },
      host: { cpus: cpus().length, kernel: release(), node: process.version },
      versions: await toolVersions(),
      metrics: metrics.filter((m) => options.workloads.includes(m.workload)),
      targets: results,
      ratios,
    };
    await writeFile(options.json, JSON.stringify(json, null, 2) + '\n');
    say(`wrote ${options.json}`);
  }
  const failed = ran.some((t) => results[t].status === 'failed' || Object.values(results[t].metrics).some((f) => f.error && !f.error.startsWith('skipped')));
  return failed ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  say(`FAILED: ${err.stack ?? err.message}`);
} finally {
  await cleanupAll();
}
process.exit(stopping ? 130 : exitCode);
