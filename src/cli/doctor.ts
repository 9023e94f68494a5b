// strata doctor: checks what a mount needs on this machine (/dev/fuse, libfuse 2, fusermount, the
// patched fuse-native, the rocksdb-write and block-io addons), the volume's home (ownership, permissions, free
// space) and its object store (a put, get and delete of a probe key under doctor/). Prints OK or
// FAIL per check with what to do about a failure; exits 1 if any check failed.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { volumePaths } from '../home.js';
import { openObjectStore, type ObjectStoreConfig } from '../object/open.js';
import { parseArgs } from './args.js';
import { VOLUME_FLAGS, VOLUME_USAGE, volumeOptions } from './common.js';
import { formatBytes } from './progress.js';

const run = promisify(execFile);

const PATCH_SCRIPT = fileURLToPath(new URL('../../../scripts/fuse-native/patch.mjs', import.meta.url));
const ROCKSDB_WRITE_SCRIPT = fileURLToPath(new URL('../../../scripts/rocksdb-write/build.mjs', import.meta.url));
const BLOCK_IO_SCRIPT = fileURLToPath(new URL('../../../scripts/block-io/build.mjs', import.meta.url));
const LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];
const MIN_FREE_BYTES = 1024 ** 3;
const PROBE_BYTES = 4096;
const STORE_DEADLINE_MS = 30_000;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** what to do about a failure */
  fix?: string;
}

type Probe = () => Promise<Omit<Check, 'name'>>;

export async function doctor(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { usage: `strata doctor ${VOLUME_USAGE}`, positionals: [], flags: VOLUME_FLAGS });
  const options = volumeOptions(flags);
  const paths = volumePaths(options.home, options.volume);
  const probes: Array<[string, Probe]> = [
    ['/dev/fuse', checkDevFuse],
    ['libfuse 2', checkLibfuse],
    ['fusermount', checkFusermount],
    ['fuse-native patch', () => checkNativeBuild(PATCH_SCRIPT, 'run node scripts/fuse-native/patch.mjs (it rebuilds the addon; needs make, g++ and python3)')],
    ['rocksdb-write addon', () => checkNativeBuild(ROCKSDB_WRITE_SCRIPT, 'run node scripts/rocksdb-write/build.mjs (needs make, g++ and python3); without it metadata writes take the thread pool, which is slower')],
    ['block-io addon', () => checkNativeBuild(BLOCK_IO_SCRIPT, 'run node scripts/block-io/build.mjs (needs make, gcc and python3); without it no volume opens: it computes the block digests')],
    ['volume home', () => checkHome(options.home, paths.root, paths.socket)],
    ['free space', () => checkFreeSpace(paths.root)],
    ['object store', () => checkObjectStore(paths.configFile, options.objectStore)],
  ];
  let failed = 0;
  for (const [name, probe] of probes) {
    const check: Check = { name, ...(await probe().catch((err: unknown) => ({ ok: false, detail: `the check itself failed: ${messageOf(err)}` }))) };
    if (!check.ok) failed++;
    process.stdout.write(`${check.ok ? 'OK  ' : 'FAIL'}  ${check.name}: ${check.detail}\n`);
    if (!check.ok && check.fix) process.stdout.write(`      fix: ${check.fix}\n`);
  }
  process.stdout.write(failed === 0 ? `all ${probes.length} checks passed\n` : `${failed} of ${probes.length} checks failed\n`);
  return failed === 0 ? 0 : 1;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function checkDevFuse(): Promise<Omit<Check, 'name'>> {
  const fix = 'load the kernel module (modprobe fuse); in a container, run it with --device /dev/fuse --cap-add SYS_ADMIN';
  const info = await stat('/dev/fuse').catch(() => undefined);
  if (!info) return { ok: false, detail: '/dev/fuse does not exist', fix };
  if (!info.isCharacterDevice()) return { ok: false, detail: '/dev/fuse is not a character device', fix };
  const usable = await access('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK).then(() => true, () => false);
  if (!usable) return { ok: false, detail: '/dev/fuse is not readable and writable by this user', fix: 'add yourself to the group that owns /dev/fuse, or make it mode 0666 (the default of most distributions)' };
  return { ok: true, detail: 'character device, readable and writable' };
}

async function checkLibfuse(): Promise<Omit<Check, 'name'>> {
  const fix = 'install libfuse 2: apt-get install libfuse2 (libfuse2t64 on Ubuntu 24.04), or run scripts/setup.sh';
  const cache = await run('ldconfig', ['-p']).then((r) => r.stdout, () => run('/sbin/ldconfig', ['-p']).then((r) => r.stdout, () => ''));
  const line = cache.split('\n').find((l) => l.trim().startsWith('libfuse.so.2 '));
  if (line) return { ok: true, detail: line.split('=>')[1]?.trim() ?? 'in the linker cache' };
  for (const dir of LIBRARY_DIRS) {
    const path = join(dir, 'libfuse.so.2');
    if (await access(path).then(() => true, () => false)) return { ok: true, detail: path };
  }
  return { ok: false, detail: 'libfuse.so.2 is neither in the linker cache nor in the usual library folders', fix };
}

async function checkFusermount(): Promise<Omit<Check, 'name'>> {
  const fix = 'install the FUSE tools: apt-get install fuse3 (or fuse), or run scripts/setup.sh';
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, 'fusermount');
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    const runnable = await access(path, fsConstants.X_OK).then(() => true, () => false);
    if (!runnable) return { ok: false, detail: `${path} is not executable`, fix: `chmod 4755 ${path}` };
    if (process.getuid?.() !== 0 && (info.mode & 0o4000) === 0) {
      return { ok: false, detail: `${path} is not setuid root, so it cannot mount for this user`, fix: `chmod u+s ${path} (as root), or mount as root` };
    }
    return { ok: true, detail: path };
  }
  return { ok: false, detail: 'fusermount is not on the PATH', fix };
}

/** Runs a native build script with --check: its last line says what it found. */
async function checkNativeBuild(script: string, fix: string): Promise<Omit<Check, 'name'>> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, '--check'], { cwd: dirname(dirname(dirname(script))) });
    return { ok: true, detail: lastLine(stdout + stderr) ?? 'built' };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string; code?: number | string };
    return { ok: false, detail: lastLine(`${failure.stdout ?? ''}${failure.stderr ?? ''}`) ?? `node ${script} --check failed (${failure.code})`, fix };
  }
}

function lastLine(text: string): string | undefined {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1]?.replace(/^\[[^\]]+\]\s*/, '');
}

/** The folder itself, or its nearest ancestor that exists. */
async function nearestExisting(path: string): Promise<string> {
  for (let dir = path; ; dir = dirname(dir)) {
    if (await stat(dir).then(() => true, () => false)) return dir;
    if (dirname(dir) === dir) return dir;
  }
}

async function checkHome(home: string, volumeRoot: string, socket: string): Promise<Omit<Check, 'name'>> {
  const uid = process.getuid?.();
  const problems: string[] = [];
  const fixes: string[] = [];
  const notes: string[] = [];
  for (const dir of [home, volumeRoot]) {
    const info = await stat(dir).catch(() => undefined);
    if (!info) continue;
    if (!info.isDirectory()) {
      problems.push(`${dir} is not a folder`);
      fixes.push(`move ${dir} away or pick another --home`);
      continue;
    }
    if (uid !== undefined && info.uid !== uid) {
      problems.push(`${dir} belongs to uid ${info.uid}, not to you (uid ${uid})`);
      fixes.push(`chown -R ${uid} ${dir}`);
    }
    if ((info.mode & 0o022) !== 0) {
      problems.push(`${dir} is writable by ${info.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(info.mode & 0o7777).toString(8)})`);
      fixes.push(`chmod 700 ${dir}`);
    }
    notes.push(`${dir} mode ${(info.mode & 0o7777).toString(8)}`);
  }
  const sock = await stat(socket).catch(() => undefined);
  if (sock && (sock.mode & 0o077) !== 0) {
    problems.push(`the control socket ${socket} is mode ${(sock.mode & 0o777).toString(8)}, not 600`);
    fixes.push(`unmount and mount again (the mount makes it 0600)`);
  }
  if (notes.length < 2) {
    const parent = await nearestExisting(volumeRoot);
    const writable = await access(parent, fsConstants.W_OK | fsConstants.X_OK).then(() => true, () => false);
    if (!writable) {
      problems.push(`${volumeRoot} does not exist and ${parent} is not writable, so it cannot be created`);
      fixes.push(`create it (mkdir -p -m 700 ${volumeRoot}) or pick a --home you own`);
    } else notes.push(`${volumeRoot} will be created (0700) on first use`);
  }
  if (problems.length > 0) return { ok: false, detail: problems.join('; '), fix: fixes.join('; ') };
  return { ok: true, detail: notes.join(', ') };
}

async function checkFreeSpace(volumeRoot: string): Promise<Omit<Check, 'name'>> {
  const dir = await nearestExisting(volumeRoot);
  const fs = await statfs(dir);
  const freeBytes = fs.bavail * fs.bsize;
  const detail = `${formatBytes(freeBytes)} free of ${formatBytes(fs.blocks * fs.bsize)} on the file system of ${dir}`;
  if (freeBytes < MIN_FREE_BYTES) {
    return { ok: false, detail: `${detail}; metadata, logs and (with the file backend) objects need at least ${formatBytes(MIN_FREE_BYTES)}`, fix: 'free some space, or move the volume with --home to a larger file system' };
  }
  return { ok: true, detail };
}

/** The store the volume uses: the options given now, else the one recorded when it was created, else the default. */
async function storeConfig(configFile: string, given: ObjectStoreConfig | undefined): Promise<{ config: ObjectStoreConfig | undefined; source: string }> {
  if (given) return { config: given, source: 'from the options given' };
  const text = await readFile(configFile, 'utf8').catch(() => undefined);
  if (text === undefined) return { config: undefined, source: 'the default for a new volume' };
  const stored = (JSON.parse(text) as { objectStore?: ObjectStoreConfig }).objectStore;
  return { config: stored, source: `recorded in ${configFile}` };
}

async function checkObjectStore(configFile: string, given: ObjectStoreConfig | undefined): Promise<Omit<Check, 'name'>> {
  const { config, source } = await storeConfig(configFile, given);
  const resolved: ObjectStoreConfig = config ?? { backend: 'file', root: join(dirname(configFile), 'objects') };
  if (resolved.backend === 'file' && !(await stat(resolved.root).then(() => true, () => false))) {
    // Probing would create the folder (and the volume's home) with the wrong mode: only check it can be made.
    const parent = await nearestExisting(resolved.root);
    if (await access(parent, fsConstants.W_OK | fsConstants.X_OK).then(() => true, () => false)) {
      return { ok: true, detail: `file:${resolved.root} (${source}) does not exist yet; ${parent} is writable, so it can be created` };
    }
    return { ok: false, detail: `file:${resolved.root} (${source}) does not exist and ${parent} is not writable`, fix: `pick a --home you own, or create it: mkdir -p -m 700 ${resolved.root}` };
  }
  const store = openObjectStore(resolved);
  const key = `doctor/${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const body = randomBytes(PROBE_BYTES);
  const where = `${store.description} (${source})`;
  let step = 'writing';
  const probe = async () => {
    await store.put(key, body);
    step = 'reading';
    const back = await store.get(key);
    if (!back.equals(body)) throw new Error(`read ${back.length} bytes back that differ from the ${body.length} written`);
    step = 'deleting';
    await store.delete([key]);
    step = 'checking the delete of';
    if ((await store.head(key)) !== null) throw new Error('the probe object is still there after its delete');
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${STORE_DEADLINE_MS / 1000} s`)), STORE_DEADLINE_MS);
  });
  const startedMs = Date.now();
  try {
    await Promise.race([probe(), deadline]);
    return { ok: true, detail: `${where}: put, get and delete of ${key} took ${Date.now() - startedMs} ms` };
  } catch (err) {
    const message = messageOf(err);
    return { ok: false, detail: `${where}: ${step} the probe object ${key} failed: ${message}`, fix: storeFix(resolved, err) };
  } finally {
    clearTimeout(timer);
    await store.close().catch(() => undefined);
  }
}

function storeFix(config: ObjectStoreConfig, err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  const message = messageOf(err);
  if (config.backend === 'file') return `make ${config.root} a folder you can write (mkdir -p -m 700 ${config.root})`;
  if (code === 'EACCES' || /authentication|credential|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/i.test(message)) {
    return 'check the credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment, and that they may put, get and delete in the bucket';
  }
  if (/NoSuchBucket|bucket .*(does not exist|not found|missing)/i.test(message)) return `create the bucket ${config.bucket} first`;
  return `check that the server at ${config.endpoint ?? `the AWS endpoint of region ${config.region ?? '(default)'}`} runs and is reachable from here, and the --endpoint, --bucket, --region and --path-style options`;
}
