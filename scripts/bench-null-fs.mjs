#!/usr/bin/env node
// A null fuse-native filesystem: the ceiling scripts/bench measures Strata against. It accepts every
// namespace and write operation, discards written bytes, remembers names, modes and sizes in a Map
// (so stat, ls, tar and rsync work) and reads zeros. Same kernel options as Strata's mount/run.ts:
// the request size and the readahead window come from Strata's own modules in dist/.
//   node scripts/bench-null-fs.mjs <mountpoint>
// Prints "mounted" on stdout once the kernel lists the mount; SIGTERM/SIGINT unmount and exit.
// Run it in its own process: never make synchronous fs calls into a mount from the process serving it.
import Fuse from 'fuse-native';
import { DEFAULT_READAHEAD_KIB, setReadahead } from '../dist/mount/readahead.js';
import { REQUEST_BYTES, REQUEST_PAGES } from '../dist/mount/request-size.js';

const mountpoint = process.argv[2];
if (!mountpoint) {
  process.stderr.write('usage: bench-null-fs.mjs <mountpoint>\n');
  process.exit(2);
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

let nextIno = 2;
/** path -> node; a directory node has `children` (a Set of names). */
const nodes = new Map();
const now = () => Date.now();
const makeNode = (mode, ctx, extra = {}) => {
  const t = now();
  return { ino: nextIno++, mode, uid: ctx?.uid ?? 0, gid: ctx?.gid ?? 0, size: 0, nlink: 1, atime: t, mtime: t, ctime: t, ...extra };
};
nodes.set('/', { ...makeNode(S_IFDIR | 0o755, { uid: 0, gid: 0 }), ino: 1, nlink: 2, children: new Set() });

const parentOf = (path) => {
  const cut = path.lastIndexOf('/');
  return { dir: cut <= 0 ? '/' : path.slice(0, cut), name: path.slice(cut + 1) };
};
const statOf = (node) => ({
  mode: node.mode,
  uid: node.uid,
  gid: node.gid,
  size: node.size,
  nlink: node.nlink,
  ino: node.ino,
  blksize: 4096,
  blocks: Math.ceil(node.size / 512),
  atime: node.atime,
  mtime: node.mtime,
  ctime: node.ctime,
});
/** Adds `node` at `path`; returns 0 or a negative errno. */
const insert = (path, node) => {
  const { dir, name } = parentOf(path);
  const parent = nodes.get(dir);
  if (!parent) return Fuse.ENOENT;
  if (!parent.children) return Fuse.ENOTDIR;
  if (nodes.has(path)) return Fuse.EEXIST;
  nodes.set(path, node);
  parent.children.add(name);
  parent.mtime = parent.ctime = now();
  return 0;
};
const remove = (path) => {
  const { dir, name } = parentOf(path);
  nodes.delete(path);
  const parent = nodes.get(dir);
  if (parent) {
    parent.children.delete(name);
    parent.mtime = parent.ctime = now();
  }
};
const withNode = (path, cb, change) => {
  const node = nodes.get(path);
  if (!node) return cb(Fuse.ENOENT);
  change(node);
  node.ctime = now();
  return cb(0);
};

const ops = {
  statfs: (_path, cb) => cb(0, { bsize: 4096, frsize: 4096, blocks: 1 << 30, bfree: 1 << 30, bavail: 1 << 30, files: 1 << 30, ffree: 1 << 30, favail: 1 << 30, namemax: 255 }),
  getattr: (path, cb) => {
    const node = nodes.get(path);
    return node ? cb(0, statOf(node)) : cb(Fuse.ENOENT);
  },
  readdir: (path, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    if (!node.children) return cb(Fuse.ENOTDIR);
    return cb(0, ['.', '..', ...node.children]);
  },
  opendir: (_path, _flags, cb) => cb(0, 0),
  releasedir: (_path, _fd, cb) => cb(0),
  open: (path, _flags, cb) => (nodes.has(path) ? cb(0, 1) : cb(Fuse.ENOENT)),
  create: (path, mode, cb, ctx) => {
    const existing = nodes.get(path);
    if (existing) return cb(0, 1);
    const err = insert(path, makeNode(S_IFREG | (mode & 0o7777), ctx));
    return err ? cb(err) : cb(0, 1);
  },
  mknod: (path, mode, _dev, cb, ctx) => cb(insert(path, makeNode(mode, ctx))),
  read: (path, _fd, buf, len, pos, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    const n = Math.max(0, Math.min(len, node.size - pos));
    if (n > 0) buf.fill(0, 0, n);
    return cb(n);
  },
  write: (path, _fd, _buf, len, pos, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    if (pos + len > node.size) node.size = pos + len;
    node.mtime = now();
    return cb(len);
  },
  flush: (_path, _fd, cb) => cb(0),
  fsync: (_path, _datasync, _fd, cb) => cb(0),
  fsyncdir: (_path, _datasync, _fd, cb) => cb(0),
  release: (_path, _fd, cb) => cb(0),
  truncate: (path, size, cb) => withNode(path, cb, (node) => { node.size = size; node.mtime = now(); }),
  ftruncate: (path, _fd, size, cb) => withNode(path, cb, (node) => { node.size = size; node.mtime = now(); }),
  chmod: (path, mode, cb) => withNode(path, cb, (node) => { node.mode = (node.mode & S_IFMT) | (mode & 0o7777); }),
  chown: (path, uid, gid, cb) => withNode(path, cb, (node) => {
    if (uid !== 0xffffffff) node.uid = uid;
    if (gid !== 0xffffffff) node.gid = gid;
  }),
  utimens: (path, atime, mtime, cb) => withNode(path, cb, (node) => { node.atime = atime; node.mtime = mtime; }),
  unlink: (path, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    if (node.children) return cb(Fuse.EISDIR);
    remove(path);
    return cb(0);
  },
  mkdir: (path, mode, cb, ctx) => {
    const err = insert(path, makeNode(S_IFDIR | (mode & 0o7777), ctx, { nlink: 2, children: new Set() }));
    return cb(err);
  },
  rmdir: (path, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    if (!node.children) return cb(Fuse.ENOTDIR);
    if (node.children.size > 0) return cb(Fuse.ENOTEMPTY);
    remove(path);
    return cb(0);
  },
  symlink: (target, path, cb, ctx) => cb(insert(path, makeNode(S_IFLNK | 0o777, ctx, { size: Buffer.byteLength(target), target }))),
  readlink: (path, cb) => {
    const node = nodes.get(path);
    if (!node) return cb(Fuse.ENOENT);
    return node.target === undefined ? cb(Fuse.EINVAL) : cb(0, node.target);
  },
  link: (src, dest, cb) => {
    const node = nodes.get(src);
    if (!node) return cb(Fuse.ENOENT);
    const err = insert(dest, node);
    if (!err) node.nlink += 1;
    return cb(err);
  },
  rename: (src, dest, cb) => {
    const node = nodes.get(src);
    if (!node) return cb(Fuse.ENOENT);
    const target = nodes.get(dest);
    if (target?.children && target.children.size > 0) return cb(Fuse.ENOTEMPTY);
    if (target) remove(dest);
    const moved = [];
    if (node.children) for (const [path, child] of nodes) if (path.startsWith(src + '/')) moved.push([path, child]);
    remove(src);
    const err = insert(dest, node);
    if (err) return cb(err);
    for (const [path, child] of moved) {
      nodes.delete(path);
      nodes.set(dest + path.slice(src.length), child);
    }
    return cb(0);
  },
};

const fuse = new Fuse(mountpoint, ops, {
  force: true,
  mkdir: false,
  timeout: false,
  maxPages: REQUEST_PAGES,
  defaultPermissions: true,
  fsname: `strata-null,big_writes,max_write=${REQUEST_BYTES},use_ino,hard_remove,subtype=strata-null`,
  attrTimeout: '1',
  entryTimeout: '1',
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  fuse.unmount((err) => {
    if (err) process.stderr.write(`bench-null-fs: unmount failed: ${err.message}\n`);
    process.exit(err ? 1 : 0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

fuse.mount((err) => {
  if (err) {
    process.stderr.write(`bench-null-fs: mount at ${mountpoint} failed: ${err.message}\n`);
    process.exit(1);
  }
  setReadahead(mountpoint, DEFAULT_READAHEAD_KIB)
    .catch((failure) => process.stderr.write(`bench-null-fs: could not widen the kernel readahead window: ${failure.message}\n`))
    .then(() => process.stdout.write('mounted\n'));
});
