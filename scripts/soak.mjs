#!/usr/bin/env node
// Soak: mounts a fresh volume and, for a given time, runs parallel writers (create, overwrite in
// the middle, append, truncate, rename, unlink), readers that check every read against the model
// this script keeps, snapshots that are pinned, read back through .snapshots/<name>/ and retired,
// and `strata gc` on a short grace. At the end it verifies every file and every live snapshot,
// runs gc --grace 0 and fsck (clean, nothing leaked), remounts and verifies again. It reports the
// mount's RSS at the start and the end.
//
//   node scripts/soak.mjs [--seconds 120] [--writers 3] [--readers 2] [--seed 1] [--keep]
//
// Needs a build (npm run build) and FUSE (root). Exit status 0 when everything matched.

import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const STRATA = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;

function parseOptions(argv) {
  const options = { seconds: Number(process.env.STRATA_SOAK_SECONDS ?? 120), writers: 3, readers: 2, seed: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) usage(`${arg} needs a number`);
      return v;
    };
    if (arg === '--seconds') options.seconds = value();
    else if (arg === '--writers') options.writers = value();
    else if (arg === '--readers') options.readers = value();
    else if (arg === '--seed') options.seed = value();
    else if (arg === '--keep') options.keep = true;
    else usage(`unknown argument ${arg}`);
  }
  return options;
}

function usage(message) {
  process.stderr.write(`soak: ${message}\nusage: node scripts/soak.mjs [--seconds 120] [--writers 3] [--readers 2] [--seed 1] [--keep]\n`);
  process.exit(2);
}

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text) => process.stdout.write(`soak: ${text}\n`);

async function rssKiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** One lock per file path: writers, readers and the snapshot quiesce take them. */
class Locks {
  #tails = new Map();
  async run(key, work) {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release;
    const mine = new Promise((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const rand = seeded(options.seed);
  const int = (below) => Math.floor(rand() * below);
  const base = await mkdtemp(join(tmpdir(), 'strata-soak-'));
  const home = join(base, 'home');
  const mnt = join(base, 'mnt');
  await mkdir(mnt, { recursive: true });
  const env = { ...process.env, STRATA_HOME: home };
  const strata = async (args) => (await exec(process.execPath, [STRATA, ...args, '--home', home], { env, maxBuffer: 64 * MiB })).stdout;
  const stats = { writes: 0, bytesWritten: 0, reads: 0, bytesRead: 0, renames: 0, unlinks: 0, truncates: 0, pins: 0, retired: 0, snapshotFilesChecked: 0, gcPasses: 0, gcDeleted: 0 };
  const failures = [];
  const fail = (text) => {
    if (failures.length < 20) process.stderr.write(`soak: FAILURE: ${text}\n`);
    failures.push(text);
  };

  let mount;
  let mountLog = '';
  const startMount = async () => {
    mountLog = '';
    const child = spawn(process.execPath, [STRATA, 'mount', mnt, '--foreground', '--home', home, '--cache-size', '128M'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (mountLog += d));
    child.stderr.on('data', (d) => (mountLog += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    for (let waited = 0; !mountLog.includes('"mounted"'); waited += 50) {
      if (child.exitCode !== null) throw new Error(`strata mount exited: ${mountLog}`);
      if (waited > 60_000) throw new Error(`strata mount did not come up: ${mountLog}`);
      await sleep(50);
    }
    mount = { child, exited };
  };
  const stopMount = async () => {
    if (!mount) return;
    const { child, exited } = mount;
    mount = undefined;
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 120_000).unref())]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const mounts = await readFile('/proc/mounts', 'utf8');
    if (mounts.split('\n').some((line) => line.split(' ')[1] === mnt)) await exec('fusermount', ['-uz', mnt]).catch(() => undefined);
  };

  const cleanup = async () => {
    await stopMount();
    if (!options.keep) await rm(base, { recursive: true, force: true });
  };
  process.once('SIGINT', () => cleanup().then(() => process.exit(130)));

  try {
    await startMount();
    const rssStart = await rssKiB(mount.child.pid);
    let rssPeak = rssStart;
    say(`mounted at ${mnt} (pid ${mount.child.pid}, RSS ${rssStart} KiB); running ${options.seconds} s with ${options.writers} writers, ${options.readers} readers, snapshots and gc --grace 1s`);

    /** path (relative to the mount) -> Buffer: what every reader must see once the writer closed it */
    const model = new Map();
    const locks = new Locks();
    const deadline = Date.now() + options.seconds * 1000;
    const running = () => Date.now() < deadline && failures.length === 0;
    let paused = null;
    const gate = async () => {
      while (paused) await paused;
    };

    const size = () => {
      const r = rand();
      if (r < 0.6) return int(128 * KiB);
      if (r < 0.9) return int(2 * MiB);
      return 4 * MiB + int(2 * MiB);
    };

    /** Runs `work` holding the locks of `paths`, taken in sorted order so that no two holders deadlock. */
    const withLocks = (paths, work) => {
      const sorted = [...new Set(paths)].sort();
      const take = (i) => (i === sorted.length ? work() : locks.run(sorted[i], () => take(i + 1)));
      return take(0);
    };

    const writer = async (w) => {
      const dir = `w${w}`;
      await mkdir(join(mnt, dir), { recursive: true });
      const names = Array.from({ length: 10 }, (_, i) => `${dir}/f${i}`);
      while (running()) {
        await gate();
        const path = names[int(names.length)];
        const op = int(10);
        const to = names[int(names.length)];
        const isRename = op === 7 || op === 8;
        await withLocks(isRename ? [path, to] : [path], async () => {
          const current = model.get(path);
          const full = join(mnt, path);
          if (!current || op === 0) {
            // create or rewrite the whole file
            const data = randomBytes(size());
            const handle = await open(full, 'w');
            await handle.write(data, 0, data.length, 0);
            if (rand() < 0.2) await handle.sync();
            await handle.close();
            model.set(path, data);
            stats.writes++;
            stats.bytesWritten += data.length;
          } else if (op <= 3) {
            // overwrite in the middle, possibly past the end
            const offset = int(current.length + 1);
            const data = randomBytes(1 + int(512 * KiB));
            const handle = await open(full, 'r+');
            await handle.write(data, 0, data.length, offset);
            await handle.close();
            const next = Buffer.alloc(Math.max(current.length, offset + data.length));
            current.copy(next);
            data.copy(next, offset);
            model.set(path, next);
            stats.writes++;
            stats.bytesWritten += data.length;
          } else if (op <= 5) {
            const data = randomBytes(1 + int(256 * KiB));
            const handle = await open(full, 'a');
            await handle.write(data);
            await handle.close();
            model.set(path, Buffer.concat([current, data]));
            stats.writes++;
            stats.bytesWritten += data.length;
          } else if (op === 6) {
            const length = int(current.length + 1) + (rand() < 0.2 ? int(MiB) : 0);
            await truncate(full, length);
            const next = Buffer.alloc(length);
            current.copy(next, 0, 0, Math.min(length, current.length));
            model.set(path, next);
            stats.truncates++;
          } else if (isRename) {
            if (to === path) return;
            await rename(full, join(mnt, to));
            model.set(to, current);
            model.delete(path);
            stats.renames++;
          } else {
            await unlink(full);
            model.delete(path);
            stats.unlinks++;
          }
        });
      }
    };

    const reader = async () => {
      while (running()) {
        await gate();
        const paths = [...model.keys()];
        if (paths.length === 0) {
          await sleep(20);
          continue;
        }
        const path = paths[int(paths.length)];
        await locks.run(path, async () => {
          const expected = model.get(path);
          if (!expected) return;
          const bytes = await readFile(join(mnt, path)).catch((err) => err);
          if (bytes instanceof Error) return fail(`read ${path}: ${bytes.message}`);
          stats.reads++;
          stats.bytesRead += bytes.length;
          if (!bytes.equals(expected)) fail(`${path} reads ${bytes.length} bytes ${sha(bytes).slice(0, 12)}, the model has ${expected.length} bytes ${sha(expected).slice(0, 12)}`);
        });
      }
    };

    const verifyTree = async (root, expected, label) => {
      const seen = new Set();
      const walk = async (rel) => {
        for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
          const path = rel ? `${rel}/${entry.name}` : entry.name;
          if (entry.isDirectory()) await walk(path);
          else {
            seen.add(path);
            const want = expected.get(path);
            const bytes = await readFile(join(root, path));
            if (want === undefined) fail(`${label}: ${path} should not exist`);
            else if (sha(bytes) !== want) fail(`${label}: ${path} reads ${bytes.length} bytes that are not the model's`);
          }
        }
      };
      await walk('');
      for (const path of expected.keys()) if (!seen.has(path)) fail(`${label}: ${path} is missing`);
      return seen.size;
    };

    /** Pins with the model quiesced, so the pin's content is known exactly; checks and retires older pins. */
    const snapshots = async () => {
      const live = [];
      let n = 0;
      while (running()) {
        await sleep(4000 + int(4000));
        if (!running()) break;
        let release;
        paused = new Promise((resolve) => (release = resolve));
        // with new operations held at the gate, every file's lock: the model is exactly what the pin sees
        const paths = Array.from({ length: options.writers }, (_, w) => Array.from({ length: 10 }, (_, i) => `w${w}/f${i}`)).flat();
        const frozen = await withLocks(paths, async () => {
          const name = `soak-${n++}`;
          await strata(['snapshot', 'pin', name]);
          return { name, files: new Map([...model].map(([path, bytes]) => [path, sha(bytes)])) };
        }).finally(() => {
          paused = null;
          release();
        });
        stats.pins++;
        live.push(frozen);
        // a snapshot lives through a few gc passes, then is read back whole and retired
        while (live.length > 2 || (live.length > 0 && !running())) {
          const oldest = live.shift();
          stats.snapshotFilesChecked += await verifyTree(join(mnt, '.snapshots', oldest.name), oldest.files, `snapshot ${oldest.name}`);
          await strata(['snapshot', 'retire', oldest.name]);
          stats.retired++;
        }
      }
      return live;
    };

    const collector = async () => {
      while (running()) {
        await sleep(3000 + int(2000));
        try {
          const report = JSON.parse(await strata(['gc', '--grace', '1s', '--json']));
          stats.gcPasses++;
          stats.gcDeleted += report.objects.deleted + report.staged.deleted;
        } catch (err) {
          fail(`strata gc: ${err.stderr ?? err.message}`);
        }
      }
    };

    const rssSeries = [];
    const sampler = async () => {
      for (let tick = 1; running(); tick++) {
        await sleep(2000);
        const rss = await rssKiB(mount.child.pid);
        rssPeak = Math.max(rssPeak, rss);
        if (tick % 5 === 0) rssSeries.push(`${tick * 2}s:${Math.round(rss / 1024)}`);
      }
    };

    const startedAt = Date.now();
    const [, , remainingPins] = await Promise.all([
      Promise.all(Array.from({ length: options.writers }, (_, w) => writer(w))),
      Promise.all(Array.from({ length: options.readers }, () => reader())),
      snapshots(),
      collector(),
      sampler(),
    ]).catch((err) => {
      fail(`workload: ${err.stack ?? err.message}`);
      return [undefined, undefined, []];
    });
    const rssEnd = await rssKiB(mount.child.pid);
    say(`workload ran ${Math.round((Date.now() - startedAt) / 1000)} s: ${JSON.stringify(stats)}`);

    // Final checks: every file, every snapshot still pinned, then a clean volume.
    const expected = new Map([...model].map(([path, bytes]) => [path, sha(bytes)]));
    const checked = await verifyTree(mnt, expected, 'live');
    for (const pin of remainingPins ?? []) {
      stats.snapshotFilesChecked += await verifyTree(join(mnt, '.snapshots', pin.name), pin.files, `snapshot ${pin.name}`);
      await strata(['snapshot', 'retire', pin.name]);
      stats.retired++;
    }
    await strata(['gc', '--grace', '0']);
    const fsck = JSON.parse(await strata(['fsck', '--json']).catch((err) => err.stdout ?? '{}'));
    if (!fsck.clean || fsck.problems?.length) fail(`fsck: ${JSON.stringify(fsck.problems?.slice(0, 5))}`);
    if (fsck.storedObjects !== fsck.reachableObjects) fail(`the store holds ${fsck.storedObjects} objects, ${fsck.reachableObjects} reachable`);
    await stopMount();
    await startMount();
    const afterRemount = await verifyTree(mnt, expected, 'after remount');
    say(`verified ${checked} files live and ${afterRemount} after a remount, ${stats.snapshotFilesChecked} files in ${stats.pins} snapshots; fsck: ${fsck.reachableObjects} reachable, ${fsck.storedObjects} stored`);
    say(`mount RSS: start ${(rssStart / 1024).toFixed(1)} MiB, end ${(rssEnd / 1024).toFixed(1)} MiB, peak ${(rssPeak / 1024).toFixed(1)} MiB (block cache bound 128 MiB); every 10 s: ${rssSeries.join(' ')} MiB`);
    if (/"level":"error"/.test(mountLog)) fail(`the mount logged errors:\n${mountLog.split('\n').filter((l) => l.includes('"error"')).slice(0, 5).join('\n')}`);
  } catch (err) {
    fail(err.stack ?? String(err));
  } finally {
    await cleanup().catch((err) => fail(`cleanup: ${err.message}`));
  }
  if (failures.length > 0) {
    say(`FAILED with ${failures.length} problem(s)`);
    process.exit(1);
  }
  say('passed');
}

await main();
