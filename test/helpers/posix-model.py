#!/usr/bin/env python3
# The model-based random test's driver: one seeded sequence of POSIX operations applied to two
# directories side by side, A (the reference, a local ext4 directory) and B (a Strata mount).
# After every step the two results (return value or errno name, bytes read, normalized stat) must be
# equal; at the end, with every handle closed, the two trees must be equal (types, modes, sizes,
# link counts, bytes, symlink targets).
#
#   python3 posix-model.py <seed> <count> <dirA> <dirB>
#
# Prints one JSON line: {"seed", "ops", "ok", "counts", "errors"} and, on the first divergence,
# "divergence" (step, operation, both results) with "recent" (the operations before it); exit 1.
# Names come from a small set, so operations collide: EEXIST, ENOENT, ENOTDIR, ENOTEMPTY happen.

import collections
import errno
import hashlib
import json
import os
import random
import stat
import sys

MiB = 1024 * 1024
NAMES = ['a', 'b', 'c']
MAX_HANDLES = 6
MAX_OFFSET = 9 * MiB


class Divergence(Exception):
    pass


def errname(err):
    return errno.errorcode.get(err.errno, str(err.errno))


def call(fn, *args):
    try:
        return ('ok', fn(*args))
    except OSError as err:
        return ('err', errname(err))


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16] + f':{len(data)}'


def norm_stat(s):
    kind = stat.S_IFMT(s.st_mode)
    out = {'type': kind, 'mode': oct(stat.S_IMODE(s.st_mode)), 'nlink': s.st_nlink}
    if kind != stat.S_IFDIR:  # directory st_size differs by design (ext4 grows by blocks)
        out['size'] = s.st_size
    return out


class Model:
    def __init__(self, seed, dir_a, dir_b):
        self.rng = random.Random(seed)
        self.dirs = (dir_a, dir_b)
        self.handles = []  # {'fds': (fdA, fdB), 'path': str, 'flags': str}
        self.counts = collections.Counter()
        self.errors = collections.Counter()
        self.recent = collections.deque(maxlen=40)

    # ---- choosing ------------------------------------------------------------------------------

    def path(self):
        depth = self.rng.choice([1, 1, 2, 2, 2, 3])
        return '/'.join(self.rng.choice(NAMES) for _ in range(depth))

    def offset(self):
        r = self.rng.random()
        if r < 0.5:
            return self.rng.randrange(0, 64 * 1024)
        if r < 0.8:
            return self.rng.randrange(0, 300 * 1024)
        if r < 0.9:
            return 4 * MiB - self.rng.randrange(0, 8192)  # across the first block boundary
        return self.rng.randrange(0, MAX_OFFSET)

    def length(self):
        r = self.rng.random()
        if r < 0.6:
            return self.rng.randrange(1, 5000)
        if r < 0.95:
            return self.rng.randrange(1, 200 * 1024)
        return self.rng.randrange(1, 5 * MiB)  # whole blocks, sealed while writing

    def data(self, n):
        return self.rng.randbytes(n)

    # ---- applying ------------------------------------------------------------------------------

    def both(self, label, fn):
        """Runs fn(side) for A then B; equal results or Divergence."""
        results = [fn(i) for i in (0, 1)]
        self.recent.append(label)
        if results[0] != results[1]:
            raise Divergence({'operation': label, 'A (ext4)': results[0], 'B (strata)': results[1]})
        result = results[0]
        if isinstance(result, tuple) and result and result[0] == 'err':
            self.errors[result[1]] += 1
        return result

    def on_path(self, name, fn, *paths):
        """An operation on paths relative to each side's directory."""
        label = f'{name} {" ".join(paths)}'
        return self.both(label, lambda i: call(fn, *[os.path.join(self.dirs[i], p) for p in paths]))

    def step(self):
        ops = [
            (12, self.op_open), (8, self.op_close), (15, self.op_write), (10, self.op_read),
            (4, self.op_ftruncate), (4, self.op_truncate), (3, self.op_fsync), (3, self.op_reopen),
            (6, self.op_stat), (4, self.op_fstat), (6, self.op_rename), (4, self.op_link), (5, self.op_unlink),
            (5, self.op_mkdir), (4, self.op_rmdir), (3, self.op_chmod), (2, self.op_symlink),
            (3, self.op_listdir),
        ]
        total = sum(w for w, _ in ops)
        pick = self.rng.randrange(total)
        for weight, op in ops:
            if pick < weight:
                self.counts[op.__name__[3:]] += 1
                return op()
            pick -= weight

    # FUSE's high-level API knows an open file by the name it was opened through, following renames;
    # when that name is unlinked or renamed over, the handle's file has no path left for it.
    def real(self, path):
        return os.path.relpath(os.path.realpath(os.path.join(self.dirs[0], path)), self.dirs[0])

    def forget_name(self, path):
        for h in self.handles:
            if h['node'] == path:
                h['node'] = None

    def move_names(self, src, dst):
        for h in self.handles:
            if h['node'] == src:
                h['node'] = dst
            elif h['node'] and h['node'].startswith(src + '/'):
                h['node'] = dst + h['node'][len(src):]

    def handle(self):
        return self.rng.choice(self.handles) if self.handles else None

    def op_open(self):
        if len(self.handles) >= MAX_HANDLES:
            return self.op_close()
        path = self.path()
        access = self.rng.choice([('O_RDONLY', os.O_RDONLY), ('O_WRONLY', os.O_WRONLY), ('O_RDWR', os.O_RDWR), ('O_RDWR', os.O_RDWR)])
        flags, names = access[1], [access[0]]
        for name, bit, p in [('O_CREAT', os.O_CREAT, 0.6), ('O_EXCL', os.O_EXCL, 0.2), ('O_TRUNC', os.O_TRUNC, 0.15), ('O_APPEND', os.O_APPEND, 0.15)]:
            if self.rng.random() < p:
                flags |= bit
                names.append(name)
        mode = self.rng.choice([0o644, 0o600, 0o755])
        label = f'open {path} {"|".join(names)} {oct(mode)}'
        fds = []

        def do(i):
            result = call(os.open, os.path.join(self.dirs[i], path), flags, mode)
            fds.append(result[1] if result[0] == 'ok' else None)
            return result if result[0] == 'err' else ('ok', 'fd')

        result = self.both(label, do)
        if result[0] == 'ok':
            self.handles.append({'fds': tuple(fds), 'path': path, 'node': self.real(path), 'flags': '|'.join(names)})

    def close_handle(self, h):
        self.handles.remove(h)
        self.both(f'close {h["path"]} ({h["flags"]})', lambda i: call(os.close, h['fds'][i]))

    def op_close(self):
        h = self.handle()
        if h:
            self.close_handle(h)

    def op_reopen(self):
        h = self.handle()
        if not h:
            return self.op_open()
        self.close_handle(h)
        fds = []

        def do(i):
            result = call(os.open, os.path.join(self.dirs[i], h['path']), os.O_RDWR)
            fds.append(result[1] if result[0] == 'ok' else None)
            return result if result[0] == 'err' else ('ok', 'fd')

        if self.both(f'reopen {h["path"]} O_RDWR', do)[0] == 'ok':
            self.handles.append({'fds': tuple(fds), 'path': h['path'], 'node': self.real(h['path']), 'flags': 'O_RDWR'})

    def op_write(self):
        h = self.handle()
        if not h:
            return self.op_open()
        offset, data = self.offset(), self.data(self.length())
        self.both(f'pwrite {h["path"]} ({h["flags"]}) at {offset} len {len(data)}', lambda i: call(os.pwrite, h['fds'][i], data, offset))

    def op_read(self):
        h = self.handle()
        if not h:
            return self.op_open()
        offset, length = self.offset(), self.length()

        def do(i):
            result = call(os.pread, h['fds'][i], length, offset)
            return ('ok', digest(result[1])) if result[0] == 'ok' else result

        self.both(f'pread {h["path"]} ({h["flags"]}) at {offset} len {length}', do)

    def size(self):
        r = self.rng.random()
        if r < 0.7:
            return self.rng.randrange(0, 300 * 1024)
        return self.rng.randrange(0, MAX_OFFSET)

    def op_ftruncate(self):
        h = self.handle()
        if not h:
            return self.op_open()
        size = self.size()
        self.both(f'ftruncate {h["path"]} ({h["flags"]}) to {size}', lambda i: call(os.ftruncate, h['fds'][i], size))

    def op_truncate(self):
        size = self.size()
        self.on_path(f'truncate to {size}:', lambda p: os.truncate(p, size), self.path())

    def op_fsync(self):
        h = self.handle()
        if not h:
            return self.op_open()
        self.both(f'fsync {h["path"]} ({h["flags"]})', lambda i: call(os.fsync, h['fds'][i]))

    def op_stat(self):
        path = self.path()
        self.both(f'lstat {path}', lambda i: (lambda r: ('ok', norm_stat(r[1])) if r[0] == 'ok' else r)(call(os.lstat, os.path.join(self.dirs[i], path))))

    def op_fstat(self):
        h = self.handle()
        if not h:
            return self.op_open()
        # A handle whose name is gone is skipped: FUSE's path-based getattr cannot reach its file
        # (ENOENT); the conformance suite's fstat_after_unlink_or_rename_over check covers that case.
        if h['node'] is None:
            return
        self.both(f'fstat {h["path"]} ({h["flags"]})', lambda i: (lambda r: ('ok', norm_stat(r[1])) if r[0] == 'ok' else r)(call(os.fstat, h['fds'][i])))

    def op_rename(self):
        src, dst = self.path(), self.path()
        try:
            a, b = (os.lstat(os.path.join(self.dirs[0], p)) for p in (src, dst))
            same_file = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        except OSError:
            same_file = False
        real_src, real_dst = self.real(os.path.dirname(src) or '.'), self.real(os.path.dirname(dst) or '.')
        if self.on_path('rename', os.rename, src, dst)[0] == 'ok' and not same_file:
            src_name = os.path.normpath(os.path.join(real_src, os.path.basename(src)))
            dst_name = os.path.normpath(os.path.join(real_dst, os.path.basename(dst)))
            self.forget_name(dst_name)
            self.move_names(src_name, dst_name)

    def op_link(self):
        self.on_path('link', os.link, self.path(), self.path())

    def op_unlink(self):
        path = self.path()
        parent = self.real(os.path.dirname(path) or '.')
        if self.on_path('unlink', os.unlink, path)[0] == 'ok':
            self.forget_name(os.path.normpath(os.path.join(parent, os.path.basename(path))))

    def op_mkdir(self):
        mode = self.rng.choice([0o755, 0o700, 0o775])
        self.on_path(f'mkdir {oct(mode)}', lambda p: os.mkdir(p, mode), self.path())

    def op_rmdir(self):
        self.on_path('rmdir', os.rmdir, self.path())

    def op_chmod(self):
        mode = self.rng.choice([0o644, 0o600, 0o755, 0o700, 0o4755, 0o1777])
        self.on_path(f'chmod {oct(mode)}', lambda p: os.chmod(p, mode), self.path())

    def op_symlink(self):
        # relative targets without '..': they resolve inside each side's own directory
        target = self.rng.choice(['a', 'b/c', 'c/a', '.', 'nowhere'])
        self.on_path(f'symlink -> {target}', lambda p: os.symlink(target, p), self.path())

    def op_listdir(self):
        path = self.rng.choice(['.', 'a', 'b', 'c', 'a/b'])
        self.both(f'listdir {path}', lambda i: (lambda r: ('ok', sorted(r[1])) if r[0] == 'ok' else r)(call(os.listdir, os.path.join(self.dirs[i], path))))

    # ---- the end -------------------------------------------------------------------------------

    def tree(self, root):
        entries = {}
        for parent, dirs, files in os.walk(root):
            for name in sorted(dirs + files):
                full = os.path.join(parent, name)
                s = os.lstat(full)
                entry = norm_stat(s)
                if stat.S_ISREG(s.st_mode):
                    with open(full, 'rb') as fh:
                        entry['bytes'] = digest(fh.read())
                elif stat.S_ISLNK(s.st_mode):
                    entry['target'] = os.readlink(full)
                entries[os.path.relpath(full, root)] = entry
        return entries

    def finish(self):
        for h in list(self.handles):
            self.close_handle(h)
        trees = [self.tree(d) for d in self.dirs]
        if trees[0] != trees[1]:
            differing = sorted(k for k in set(trees[0]) | set(trees[1]) if trees[0].get(k) != trees[1].get(k))
            raise Divergence({'operation': 'final tree comparison', 'A (ext4)': {k: trees[0].get(k) for k in differing[:20]},
                              'B (strata)': {k: trees[1].get(k) for k in differing[:20]}})
        return len(trees[0])


def main():
    seed, count, dir_a, dir_b = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.umask(0o022)
    model = Model(seed, dir_a, dir_b)
    report = {'seed': seed, 'ops': 0}
    try:
        for i in range(count):
            report['ops'] = i + 1
            model.step()
        report['entries_at_end'] = model.finish()
        report['ok'] = True
    except Divergence as d:
        report['ok'] = False
        report['divergence'] = {'step': report['ops'], **d.args[0]}
        report['recent'] = list(model.recent)[-25:]
        for h in model.handles:
            for fd in h['fds']:
                try:
                    os.close(fd)
                except OSError:
                    pass
    report['counts'] = dict(sorted(model.counts.items()))
    report['errors'] = dict(sorted(model.errors.items()))
    print(json.dumps(report))
    sys.exit(0 if report['ok'] else 1)


if __name__ == '__main__':
    main()
