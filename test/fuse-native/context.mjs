#!/usr/bin/env node
// Demonstrates the Strata caller-context patch of fuse-native (scripts/fuse-native/patch.mjs).
// Not part of the uvu suite. Needs root, /dev/fuse, setpriv, python3, dd and the patched addon:
//   node scripts/fuse-native/patch.mjs && node test/fuse-native/context.mjs
//
// Mounts a tiny in-memory filesystem on a fresh temp dir and drives it only through child
// processes (fuse-native serves every operation on this process's main thread, so this process
// must never make a synchronous fs call into its own mount). Checks:
//   - create/mkdir see the caller's uid/gid (setpriv 1000:1000 and root), files end up owned by them
//   - the per-call context (last handler argument) survives awaits and concurrent requests,
//     fuse.context() is the same object synchronously and null after an await
//   - the kernel applies the umask before create/mkdir (no FUSE_CAP_DONT_MASK)
//   - default_permissions / allow_other are in force
//   - big_writes,max_write=131072 (via fsname) gives 128 KiB writes
//   - utimens receives distinct atime and mtime (upstream bug fixed), in whole milliseconds
//   - a callback given null means success
//   - getxattr/listxattr with a small first buffer (python's 128 bytes) retry instead of EIO/crash
// Always unmounts what it mounted (fusermount -u, then umount -l as a last resort).

import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const Fuse = require('fuse-native');

if (!(Fuse.strataContextPatch >= 1)) {
  console.error('fuse-native is not patched; run: node scripts/fuse-native/patch.mjs');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const results = [];
let failed = 0;
function check(name, ok, detail = '') {
  results.push(name);
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

// Runs a command in a child process; resolves { code, stdout, stderr } (never rejects).
function run(cmd, args, timeout = 15000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}
const asUser = (uid, gid, cmd, ...args) =>
  run('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', cmd, ...args]);

// ---------------------------------------------------------------------------------------------
// A tiny in-memory filesystem that owns new nodes by the caller's uid/gid.

const nodes = new Map(); // path -> node
const now = () => new Date();
function mknode(mode, uid, gid) {
  const t = now();
  return { mode, uid, gid, data: Buffer.alloc(0), atime: t, mtime: t, ctime: t, xattrs: new Map() };
}
nodes.set('/', mknode(0o40777, 0, 0));
const parentOf = (p) => path.posix.dirname(p);
const statOf = (n) => ({
  mode: n.mode, uid: n.uid, gid: n.gid, size: n.data.length, nlink: 1,
  atime: n.atime, mtime: n.mtime, ctime: n.ctime, blksize: 4096, blocks: Math.ceil(n.data.length / 512),
});

const seen = { create: [], mkdir: [], utimens: [], write: [], opsCtx: new Map() };
let createDelayMs = 0;
let fuse;

// Records, per op, which callers it carried ("uid:gid", "pid0" when the kernel sent no pid).
function note(op, ctx) {
  if (!seen.opsCtx.has(op)) seen.opsCtx.set(op, new Set());
  seen.opsCtx.get(op).add(`${ctx.uid}:${ctx.gid}${ctx.pid ? '' : ' pid0'}`);
}

const ops = {
  getattr(p, cb, ctx) {
    note('getattr', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    cb(0, statOf(n));
  },
  readdir(p, cb, ctx) {
    note('readdir', ctx);
    const prefix = p === '/' ? '/' : p + '/';
    const names = [...nodes.keys()].filter((k) => k !== '/' && parentOf(k) === p).map((k) => k.slice(prefix.length));
    cb(0, ['.', '..', ...names]);
  },
  // Async on purpose: shows that the trailing ctx argument stays right across awaits while other
  // requests are dispatched, and that fuse.context() is only meaningful synchronously.
  create(p, mode, cb, ctx) {
    const syncCtx = fuse.context();
    (async () => {
      await sleep(createDelayMs);
      const afterAwait = fuse.context();
      seen.create.push({ path: p, mode, ctx, sameAsSync: syncCtx === ctx, afterAwait });
      if (nodes.has(p)) return cb(Fuse.EEXIST);
      if (!nodes.has(parentOf(p))) return cb(Fuse.ENOENT);
      nodes.set(p, mknode(mode, ctx.uid, ctx.gid));
      cb(0, 0);
    })();
  },
  mkdir(p, mode, cb, ctx) {
    seen.mkdir.push({ path: p, mode, ctx });
    if (nodes.has(p)) return cb(Fuse.EEXIST);
    nodes.set(p, mknode(0o40000 | mode, ctx.uid, ctx.gid));
    cb(0);
  },
  open(p, flags, cb, ctx) {
    note('open', ctx);
    cb(nodes.has(p) ? 0 : Fuse.ENOENT, 0);
  },
  flush(p, fd, cb, ctx) { note('flush', ctx); cb(0); },
  release(p, fd, cb, ctx) { note('release', ctx); cb(0); },
  read(p, fd, buf, len, pos, cb, ctx) {
    note('read', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    cb(n.data.copy(buf, 0, pos, Math.min(n.data.length, pos + len)));
  },
  write(p, fd, buf, len, pos, cb, ctx) {
    note('write', ctx);
    seen.write.push(len);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    const end = pos + len;
    if (end > n.data.length) {
      const grown = Buffer.alloc(end);
      n.data.copy(grown);
      n.data = grown;
    }
    buf.copy(n.data, pos, 0, len); // copy before cb: buf is the kernel's buffer, detached after cb
    n.mtime = now();
    cb(len);
  },
  truncate(p, size, cb, ctx) {
    note('truncate', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    const b = Buffer.alloc(size);
    n.data.copy(b, 0, 0, Math.min(size, n.data.length));
    n.data = b;
    cb(0);
  },
  ftruncate(p, fd, size, cb, ctx) { ops.truncate(p, size, cb, ctx); },
  utimens(p, atime, mtime, cb, ctx) {
    seen.utimens.push({ path: p, atime, mtime, ctx });
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    n.atime = new Date(atime);
    n.mtime = new Date(mtime);
    cb(0);
  },
  chmod(p, mode, cb, ctx) {
    note('chmod', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    n.mode = (n.mode & ~0o7777) | (mode & 0o7777);
    cb(0);
  },
  chown(p, uid, gid, cb, ctx) {
    note('chown', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    if (uid !== 0xffffffff) n.uid = uid;
    if (gid !== 0xffffffff) n.gid = gid;
    cb(0);
  },
  unlink(p, cb) { cb(nodes.delete(p) ? null : Fuse.ENOENT); }, // null: success (patched signal)
  rmdir(p, cb) { cb(nodes.delete(p) ? 0 : Fuse.ENOENT); },
  setxattr(p, name, value, position, flags, cb, ctx) {
    note('setxattr', ctx);
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    n.xattrs.set(name, Buffer.from(value)); // copy: value is the kernel's buffer
    cb(0);
  },
  getxattr(p, name, position, cb) {
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    cb(0, n.xattrs.get(name) ?? null); // null -> ENODATA
  },
  listxattr(p, cb) {
    const n = nodes.get(p);
    if (!n) return cb(Fuse.ENOENT);
    cb(0, [...n.xattrs.keys()]);
  },
  statfs(p, cb) {
    cb(0, { bsize: 4096, frsize: 4096, blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 19, files: 1 << 20, ffree: 1 << 19, favail: 1 << 19, namemax: 255 });
  },
};

// ---------------------------------------------------------------------------------------------

const mnt = await mkdtemp(path.join(os.tmpdir(), 'strata-fuse-ctx-'));
let mounted = false;

async function cleanup() {
  if (mounted) {
    const u = await run('fusermount', ['-u', mnt]);
    if (u.code !== 0) {
      console.log(`fusermount -u failed (${u.stderr}); falling back to umount -l`);
      await run('umount', ['-l', mnt]);
    }
    mounted = false;
  }
  await rmdir(mnt).catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(130)); });
}

fuse = new Fuse(mnt, ops, {
  timeout: false,
  allowOther: true,
  defaultPermissions: true,
  // fuse-native has no setting for big_writes/max_write; they ride along in the single -o string.
  fsname: 'strata-ctx-test,big_writes,max_write=131072',
});

try {
  await new Promise((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  mounted = true;
  const line = (await readFile('/proc/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === mnt) ?? '';
  console.log(`mounted: ${line}`);
  check('mount options in force (allow_other, default_permissions)', /allow_other/.test(line) && /default_permissions/.test(line), line);

  // 1. uid/gid 1000 creates a file.
  let r = await asUser(1000, 1000, 'touch', `${mnt}/f`);
  check('setpriv 1000:1000 touch succeeds', r.code === 0, r.stderr);
  let c = seen.create.find((x) => x.path === '/f');
  check('create saw uid 1000 gid 1000', c?.ctx.uid === 1000 && c?.ctx.gid === 1000, JSON.stringify(c?.ctx));
  check('create saw a caller pid', c?.ctx.pid > 0, `pid ${c?.ctx.pid}`);
  check('fuse.context() === trailing ctx synchronously, null after an await', c?.sameAsSync === true && c?.afterAwait === null);
  r = await run('stat', ['-c', '%u:%g %a', `${mnt}/f`]);
  check('file owned by 1000:1000', r.stdout.startsWith('1000:1000 '), r.stdout);

  // 2. root creates a file.
  r = await run('touch', [`${mnt}/r`]);
  c = seen.create.find((x) => x.path === '/r');
  check('root touch: create saw uid 0 gid 0', r.code === 0 && c?.ctx.uid === 0 && c?.ctx.gid === 0, JSON.stringify(c?.ctx));

  // 3. Concurrent creates by different callers, each handler awaiting 200 ms.
  createDelayMs = 200;
  const [a, b] = await Promise.all([asUser(1000, 1000, 'touch', `${mnt}/c1`), asUser(4242, 4343, 'touch', `${mnt}/c2`)]);
  createDelayMs = 0;
  const c1 = seen.create.find((x) => x.path === '/c1');
  const c2 = seen.create.find((x) => x.path === '/c2');
  check('concurrent creates keep their own context', a.code === 0 && b.code === 0 && c1?.ctx.uid === 1000 && c2?.ctx.uid === 4242 && c2?.ctx.gid === 4343,
    `c1 ${JSON.stringify(c1?.ctx)} c2 ${JSON.stringify(c2?.ctx)}`);
  r = await run('stat', ['-c', '%u:%g', `${mnt}/c1`, `${mnt}/c2`]);
  check('concurrent files owned by their creators', r.stdout === '1000:1000\n4242:4343', r.stdout.replace('\n', ' '));

  // 4. umask: the kernel applies it before create/mkdir.
  r = await asUser(1000, 1000, 'sh', '-c', `umask 027; touch ${mnt}/u && mkdir ${mnt}/ud`);
  const cu = seen.create.find((x) => x.path === '/u');
  const mu = seen.mkdir.find((x) => x.path === '/ud');
  console.log(`  umask 027: create mode ${cu?.mode.toString(8)}, mkdir mode ${mu?.mode.toString(8)}, ctx.umask ${cu?.ctx.umask.toString(8)}/${mu?.ctx.umask.toString(8)}`);
  check('create mode arrives with umask applied (0100640)', cu?.mode === 0o100640);
  check('mkdir mode arrives with umask applied, no S_IFDIR (0750)', mu?.mode === 0o750 && mu?.ctx.uid === 1000);

  // 5. default_permissions: the kernel refuses uid 1000 in a root-owned 0755 directory.
  r = await run('sh', ['-c', `umask 022; mkdir ${mnt}/private`]);
  r = await asUser(1000, 1000, 'touch', `${mnt}/private/x`);
  check('default_permissions: uid 1000 cannot create in root 0755 dir', r.code !== 0 && /Permission denied/.test(r.stderr) && !seen.create.some((x) => x.path === '/private/x'), r.stderr);
  r = await asUser(1000, 1000, 'chgrp', '0', `${mnt}/f`);
  check('default_permissions: uid 1000 cannot chgrp to a group it is not in', r.code !== 0, r.stderr);

  // 6. Big writes.
  seen.write.length = 0;
  r = await run('dd', ['if=/dev/zero', `of=${mnt}/big`, 'bs=1M', 'count=4', 'conv=fsync']);
  const sizes = {};
  for (const s of seen.write) sizes[s] = (sizes[s] || 0) + 1;
  check('big_writes,max_write=131072: 4 MiB arrive as 32 writes of 131072', r.code === 0 && sizes[131072] === 32 && seen.write.length === 32, JSON.stringify(sizes));
  r = await run('cmp', ['-n', '4194304', '/dev/zero', `${mnt}/big`]);
  check('reads back the 4 MiB', r.code === 0, r.stderr);

  // 7. utimens: distinct atime/mtime, millisecond precision.
  r = await run('python3', ['-c', `import os; os.utime('${mnt}/f', ns=(1111111111222333444, 1555555555666777888))`]);
  const u = seen.utimens.at(-1);
  check('utimens gets atime and mtime (ms, sub-ms truncated)', r.code === 0 && u?.atime === 1111111111222 && u?.mtime === 1555555555666, `atime ${u?.atime} mtime ${u?.mtime}`);
  r = await run('stat', ['-c', '%X %Y', `${mnt}/f`]);
  check('stat shows them back', r.stdout === '1111111111 1555555555', r.stdout);

  // 8. xattrs larger than python's first 128-byte buffer.
  const names = Array.from({ length: 20 }, (_, i) => `user.attribute_number_${i}`);
  r = await run('python3', ['-c', [
    'import os, sys',
    `p = '${mnt}/f'`,
    "os.setxattr(p, 'user.big', b'v' * 200)",
    ...names.map((n) => `os.setxattr(p, '${n}', b'1')`),
    "print(len(os.getxattr(p, 'user.big')), len(os.listxattr(p)))",
  ].join('\n')]);
  check('getxattr/listxattr retry after ERANGE (200-byte value, 21 names)', r.stdout === '200 21', r.stdout || r.stderr);

  // 9. cb(null) means success (upstream: 'Expected number' thrown, caller hung).
  r = await run('rm', [`${mnt}/r`], 5000);
  check('cb(null) answers success', r.code === 0, r.stderr);

  // Which callers each op carried over the whole run.
  console.log('  callers seen per op:', Object.fromEntries([...seen.opsCtx].map(([k, v]) => [k, [...v].join(', ')])));
} catch (err) {
  failed++;
  console.error('ERROR', err);
} finally {
  await cleanup();
}

console.log(failed ? `${failed} of ${results.length} checks FAILED` : `all ${results.length} checks passed`);
process.exit(failed ? 1 : 0);
