#!/usr/bin/env python3
# The POSIX conformance probe: performs named checks against a directory and prints one JSON object
# {check: result}. test/posix/conformance.test.ts runs it against a local ext4 directory and against
# a Strata mount and asserts the two results are equal, so every expectation is the local
# filesystem's own. A result holds return values, errno names and normalized stat fields, never
# paths, inode numbers or absolute times.
#
#   python3 posix-probe.py <dir> all           every check, each in its own fresh <dir>/<check>/
#   python3 posix-probe.py <dir> name1,name2   only those
#   python3 posix-probe.py --list              the check names

import errno
import fcntl
import json
import mmap
import os
import stat
import sys
import time
import traceback

CHECKS = {}
MiB = 1024 * 1024


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def errname(err):
    return errno.errorcode.get(err.errno, str(err.errno))


def attempt(fn, *args, **kwargs):
    """'OK' (or the call's plain return value where it means something) or the errno name."""
    try:
        value = fn(*args, **kwargs)
    except OSError as err:
        return errname(err)
    if isinstance(value, bytes):
        return value.decode('latin-1')
    # descriptors and byte counts: success is what matters (descriptor numbers may differ)
    return 'OK' if value is None or isinstance(value, int) else value


def st(path, follow=False, fd=None):
    """The fields both filesystems must agree on. Directory st_size is left out: ext4 grows a
    directory by whole blocks as entries are added, Strata reports a constant 4096; st_blocks, st_ino,
    st_dev and atime are left out too (block accounting and atime policy differ, see the suite)."""
    try:
        s = os.fstat(fd) if fd is not None else (os.stat(path) if follow else os.lstat(path))
    except OSError as err:
        return errname(err)
    kind = {stat.S_IFREG: 'file', stat.S_IFDIR: 'dir', stat.S_IFLNK: 'symlink', stat.S_IFIFO: 'fifo',
            stat.S_IFCHR: 'chr', stat.S_IFBLK: 'blk', stat.S_IFSOCK: 'sock'}[stat.S_IFMT(s.st_mode)]
    out = {'type': kind, 'mode': oct(stat.S_IMODE(s.st_mode)), 'nlink': s.st_nlink, 'uid': s.st_uid, 'gid': s.st_gid}
    if kind != 'dir':
        out['size'] = s.st_size
    return out


def times(path, fd=None):
    s = os.fstat(fd) if fd is not None else os.lstat(path)
    return (s.st_mtime_ns, s.st_ctime_ns)


def changed(before, after):
    return {'mtime': before[0] != after[0], 'ctime': before[1] != after[1]}


def tick():
    """Lets the clock move past the last stamp: ext4 stamps at jiffy (4 ms) resolution, Strata in ms."""
    time.sleep(0.025)


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def text(path):
    try:
        return read_file(path).decode('latin-1')
    except OSError as err:
        return errname(err)


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as err:
        return errname(err)


# ---- create, open, lookup ---------------------------------------------------------------------

@check
def excl_on_existing(d):
    write_file(f'{d}/f', b'x')
    os.mkdir(f'{d}/dir')
    os.symlink('nowhere', f'{d}/dangling')
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    return {
        'file': attempt(os.open, f'{d}/f', flags, 0o644),
        'dir': attempt(os.open, f'{d}/dir', flags, 0o644),
        'dangling_symlink': attempt(os.open, f'{d}/dangling', flags, 0o644),
        'file_unchanged': text(f'{d}/f'),
        'creat_without_excl_keeps_bytes': attempt(lambda: os.close(os.open(f'{d}/f', os.O_CREAT | os.O_WRONLY, 0o600))),
        'after': text(f'{d}/f'),
        'mode_kept': st(f'{d}/f'),
    }


def race(path, rounds, op):
    """Two forked processes released together run `op(path_i)`; returns the winner counts."""
    counts = []
    for i in range(rounds):
        target = f'{path}{i}'
        go_r, go_w = os.pipe()
        res_r, res_w = os.pipe()
        pids = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                os.close(go_w)
                os.close(res_r)
                os.read(go_r, 1)
                try:
                    op(target)
                    os.write(res_w, b'1')
                except OSError as err:
                    os.write(res_w, b'1' if err.errno == 0 else (b'E' if err.errno == errno.EEXIST else b'?'))
                os._exit(0)
            pids.append(pid)
        os.close(go_r)
        os.close(res_w)
        os.write(go_w, b'gg')
        for pid in pids:
            os.waitpid(pid, 0)
        outcome = os.read(res_r, 8)
        os.close(go_w)
        os.close(res_r)
        counts.append(''.join(sorted(outcome.decode())))
    return counts


@check
def excl_race(d):
    create = lambda p: os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    files = race(f'{d}/f', 20, create)
    dirs = race(f'{d}/d', 20, lambda p: os.mkdir(p))
    return {
        'create_outcomes': sorted(set(files)),
        'mkdir_outcomes': sorted(set(dirs)),
        'entries': len(os.listdir(d)),
    }


@check
def open_missing(d):
    os.mkdir(f'{d}/dir')
    return {
        'rdonly': attempt(os.open, f'{d}/nope', os.O_RDONLY),
        'in_missing_dir': attempt(os.open, f'{d}/nodir/nope', os.O_RDONLY),
        'creat_in_missing_dir': attempt(os.open, f'{d}/nodir/nope', os.O_CREAT | os.O_WRONLY, 0o644),
        'stat': st(f'{d}/nope'),
        'dir_wronly': attempt(os.open, f'{d}/dir', os.O_WRONLY),
        'dir_o_directory': attempt(lambda: os.close(os.open(f'{d}/dir', os.O_RDONLY | os.O_DIRECTORY))),
    }


@check
def enotdir_component(d):
    write_file(f'{d}/file', b'data')
    return {
        'stat': st(f'{d}/file/x'),
        'open': attempt(os.open, f'{d}/file/x', os.O_RDONLY),
        'create': attempt(os.open, f'{d}/file/x', os.O_CREAT | os.O_WRONLY, 0o644),
        'mkdir': attempt(os.mkdir, f'{d}/file/x'),
        'trailing_slash': st(f'{d}/file/'),
        'o_directory': attempt(os.open, f'{d}/file', os.O_RDONLY | os.O_DIRECTORY),
        'opendir': attempt(os.listdir, f'{d}/file'),
        'rename_into': attempt(os.rename, f'{d}/file', f'{d}/file/y'),
        'unlink_through': attempt(os.unlink, f'{d}/file/x'),
    }


@check
def mkdir_existing(d):
    os.mkdir(f'{d}/dir', 0o755)
    write_file(f'{d}/file', b'')
    os.symlink('dir', f'{d}/link')
    return {
        'dir': attempt(os.mkdir, f'{d}/dir'),
        'file': attempt(os.mkdir, f'{d}/file'),
        'symlink': attempt(os.mkdir, f'{d}/link'),
        'new': attempt(os.mkdir, f'{d}/new', 0o750),
        'new_stat': st(f'{d}/new'),
        'parent_nlink': st(d)['nlink'],
    }


@check
def rmdir_cases(d):
    os.makedirs(f'{d}/full/sub')
    write_file(f'{d}/full2', b'')
    os.mkdir(f'{d}/withfile')
    write_file(f'{d}/withfile/f', b'')
    write_file(f'{d}/file', b'')
    os.mkdir(f'{d}/empty')
    return {
        'non_empty_with_dir': attempt(os.rmdir, f'{d}/full'),
        'non_empty_with_file': attempt(os.rmdir, f'{d}/withfile'),
        'file': attempt(os.rmdir, f'{d}/file'),
        'missing': attempt(os.rmdir, f'{d}/missing'),
        'dot': attempt(os.rmdir, f'{d}/empty/.'),
        'empty': attempt(os.rmdir, f'{d}/empty'),
        'after': listing(d),
        'parent_nlink': st(d)['nlink'],
    }


@check
def unlink_cases(d):
    os.mkdir(f'{d}/dir')
    write_file(f'{d}/file', b'')
    os.symlink('file', f'{d}/link')
    return {
        'dir': attempt(os.unlink, f'{d}/dir'),
        'missing': attempt(os.unlink, f'{d}/missing'),
        'symlink_removes_link_only': attempt(os.unlink, f'{d}/link'),
        'file': attempt(os.unlink, f'{d}/file'),
        'after': listing(d),
    }


# ---- rename ------------------------------------------------------------------------------------

@check
def rename_over_file(d):
    write_file(f'{d}/a', b'new bytes')
    write_file(f'{d}/b', b'old bytes', 0o600)
    os.link(f'{d}/b', f'{d}/b2')
    result = attempt(os.rename, f'{d}/a', f'{d}/b')
    return {
        'result': result, 'listing': listing(d), 'b': text(f'{d}/b'), 'b_stat': st(f'{d}/b'),
        'other_link_of_old_target': st(f'{d}/b2'), 'b2': text(f'{d}/b2'),
    }


@check
def rename_over_empty_dir(d):
    os.makedirs(f'{d}/src/inner')
    os.makedirs(f'{d}/dst')
    os.mkdir(f'{d}/other')
    result = attempt(os.rename, f'{d}/src', f'{d}/dst')
    across = attempt(os.rename, f'{d}/dst', f'{d}/other/moved')
    return {
        'result': result, 'listing': listing(d), 'dst': listing(f'{d}/other/moved'), 'parent': st(d),
        'across_dirs': across, 'other': st(f'{d}/other'), 'moved': st(f'{d}/other/moved'),
        'dotdot_follows': sorted(os.listdir(f'{d}/other/moved/inner/../..')),
    }


@check
def rename_errors(d):
    os.makedirs(f'{d}/dir/sub/deeper')
    os.makedirs(f'{d}/full/x')
    os.mkdir(f'{d}/empty')
    write_file(f'{d}/file', b'f')
    return {
        'dir_over_non_empty_dir': attempt(os.rename, f'{d}/empty', f'{d}/full'),
        'file_over_dir': attempt(os.rename, f'{d}/file', f'{d}/empty'),
        'dir_over_file': attempt(os.rename, f'{d}/empty', f'{d}/file'),
        'dir_into_own_child': attempt(os.rename, f'{d}/dir', f'{d}/dir/sub/moved'),
        'dir_onto_own_child': attempt(os.rename, f'{d}/dir', f'{d}/dir/sub'),
        'missing_source': attempt(os.rename, f'{d}/missing', f'{d}/x'),
        'into_missing_dir': attempt(os.rename, f'{d}/file', f'{d}/nodir/x'),
        'dot_source': attempt(os.rename, f'{d}/dir/.', f'{d}/y'),
        'listing': listing(d),
        'dir': listing(f'{d}/dir/sub'),
    }


@check
def rename_to_itself(d):
    write_file(f'{d}/f', b'same')
    os.mkdir(f'{d}/dir')
    os.link(f'{d}/f', f'{d}/hard')
    before = times(d)
    tick()
    return {
        'file': attempt(os.rename, f'{d}/f', f'{d}/f'),
        'dir': attempt(os.rename, f'{d}/dir', f'{d}/dir'),
        'hard_link_pair': attempt(os.rename, f'{d}/f', f'{d}/hard'),
        'listing': listing(d),
        'nlink': st(f'{d}/f'),
        'content': text(f'{d}/hard'),
        'parent_times': changed(before, times(d)),
    }


@check
def rename_no_exdev(d):
    os.makedirs(f'{d}/a/b/c')
    os.makedirs(f'{d}/x/y')
    write_file(f'{d}/a/b/c/f', b'deep')
    return {
        'file_across': attempt(os.rename, f'{d}/a/b/c/f', f'{d}/x/y/f'),
        'dir_across': attempt(os.rename, f'{d}/a/b', f'{d}/x/y/b'),
        'content': text(f'{d}/x/y/f'),
        'tree': sorted(os.path.relpath(os.path.join(r, n), d) for r, ds, fs in os.walk(d) for n in ds + fs),
        'nlinks': [st(f'{d}/a')['nlink'], st(f'{d}/x/y')['nlink']],
    }


# ---- links ---------------------------------------------------------------------------------------

@check
def hard_links(d):
    write_file(f'{d}/f', b'linked')
    out = {'link': attempt(os.link, f'{d}/f', f'{d}/g')}
    out['after_link'] = [st(f'{d}/f'), st(f'{d}/g')]
    out['link_third'] = attempt(os.link, f'{d}/g', f'{d}/h')
    out['nlink3'] = st(f'{d}/h')['nlink']
    with open(f'{d}/g', 'ab') as fh:
        fh.write(b' more')
    out['shared_bytes'] = text(f'{d}/h')
    out['unlink'] = attempt(os.unlink, f'{d}/f')
    out['after_unlink'] = [st(f'{d}/g'), st(f'{d}/h')]
    os.mkdir(f'{d}/dir')
    out['empty_dir_nlink'] = st(f'{d}/dir')['nlink']
    os.mkdir(f'{d}/dir/s1')
    os.mkdir(f'{d}/dir/s2')
    write_file(f'{d}/dir/file', b'')
    out['dir_with_two_subdirs'] = st(f'{d}/dir')['nlink']
    os.rmdir(f'{d}/dir/s1')
    out['after_rmdir'] = st(f'{d}/dir')['nlink']
    os.rename(f'{d}/dir/s2', f'{d}/s2')
    out['after_moving_subdir_out'] = [st(f'{d}/dir')['nlink'], st(d)['nlink']]
    return out


@check
def open_link_sees_write_through_another(d):
    """A descriptor opened (and read) through one name of a file sees what a write through another
    name of the same file put there: same size, and a longer one."""
    write_file(f'{d}/a', b'old bytes')
    os.link(f'{d}/a', f'{d}/b')
    reader = os.open(f'{d}/b', os.O_RDONLY)
    out = {'before': os.pread(reader, 64, 0).decode()}
    tick()
    fd = os.open(f'{d}/a', os.O_WRONLY)
    os.pwrite(fd, b'new', 0)
    os.close(fd)
    out['same_size'] = os.pread(reader, 64, 0).decode()
    tick()
    fd = os.open(f'{d}/a', os.O_WRONLY | os.O_APPEND)
    os.write(fd, b', and more')
    os.close(fd)
    out['longer'] = os.pread(reader, 64, 0).decode()
    os.close(reader)
    return out


@check
def attrs_around_link(d):
    """A file with one name may have its attributes cached by the kernel (from a create, a lookup,
    or a getattr of an open handle): a link must not leave them stale, under either name or on a
    handle opened before it, nor may a write through the new name."""
    out = {}
    for name, refresh in (('created', None), ('looked_up', 'lookup'), ('fetched_by_handle', 'getattr')):
        f, g = f'{d}/{name}', f'{d}/{name}-link'
        os.close(os.open(f, os.O_CREAT | os.O_WRONLY, 0o644))
        if refresh == 'lookup':
            time.sleep(1.2)  # past the kernel's entry and attribute timeouts: the next stat looks up afresh
        fd = os.open(f, os.O_RDWR)
        try:
            if refresh == 'getattr':
                time.sleep(1.2)  # past the timeouts: the fstat below asks by the handle alone, and may cache the answer
                case = {'before': [st(None, fd=fd)]}
            else:
                case = {'before': [st(f), st(None, fd=fd)]}
            before = times(None, fd=fd)
            tick()
            case['link'] = attempt(os.link, f, g)
            case['after_link'] = [st(f), st(None, fd=fd), st(g)]
            case['times_after_link'] = changed(before, times(None, fd=fd))
            with open(g, 'ab') as fh:
                fh.write(b'through the second name')
            case['after_write_through_link'] = [st(f), st(None, fd=fd)]
            case['unlink_link'] = attempt(os.unlink, g)
            case['after_unlink'] = [st(f), st(None, fd=fd)]
        finally:
            os.close(fd)
        out[name] = case
    return out


@check
def link_errors(d):
    os.mkdir(f'{d}/dir')
    write_file(f'{d}/f', b'')
    write_file(f'{d}/g', b'')
    return {
        'to_dir': attempt(os.link, f'{d}/dir', f'{d}/dirlink'),
        'missing': attempt(os.link, f'{d}/missing', f'{d}/x'),
        'over_existing': attempt(os.link, f'{d}/f', f'{d}/g'),
        'into_missing_dir': attempt(os.link, f'{d}/f', f'{d}/nodir/x'),
        'listing': listing(d),
    }


@check
def symlinks(d):
    write_file(f'{d}/target', b'pointed at')
    out = {
        'symlink': attempt(os.symlink, 'target', f'{d}/rel'),
        'absolute': attempt(os.symlink, '/definitely/not/here', f'{d}/abs'),
        'over_existing': attempt(os.symlink, 'x', f'{d}/target'),
    }
    out['readlink'] = [attempt(os.readlink, f'{d}/rel'), attempt(os.readlink, f'{d}/abs')]
    out['readlink_of_file'] = attempt(os.readlink, f'{d}/target')
    out['readlink_missing'] = attempt(os.readlink, f'{d}/missing')
    out['lstat'] = st(f'{d}/rel')
    out['stat'] = st(f'{d}/rel', follow=True)
    out['dangling_stat'] = st(f'{d}/abs', follow=True)
    out['read_through'] = text(f'{d}/rel')
    os.mkdir(f'{d}/dir')
    os.symlink('../target', f'{d}/dir/up')
    out['relative_from_subdir'] = text(f'{d}/dir/up')
    out['o_nofollow'] = attempt(os.open, f'{d}/rel', os.O_RDONLY | os.O_NOFOLLOW)
    os.symlink('created-through-link', f'{d}/dangling')
    out['creat_through_dangling_symlink'] = attempt(lambda: os.close(os.open(f'{d}/dangling', os.O_CREAT | os.O_WRONLY, 0o600)))
    out['created_target'] = st(f'{d}/created-through-link')
    out['hard_link_to_symlink'] = attempt(os.link, f'{d}/rel', f'{d}/rel2', follow_symlinks=False)
    out['rel2'] = st(f'{d}/rel2')
    return out


@check
def symlink_loop(d):
    os.symlink('b', f'{d}/a')
    os.symlink('a', f'{d}/b')
    os.symlink('self', f'{d}/self')
    return {
        'open': attempt(os.open, f'{d}/a', os.O_RDONLY),
        'open_self': attempt(os.open, f'{d}/self', os.O_RDONLY),
        'stat': st(f'{d}/a', follow=True),
        'lstat': st(f'{d}/a'),
        'creat': attempt(os.open, f'{d}/self', os.O_CREAT | os.O_WRONLY, 0o644),
        'through_component': st(f'{d}/a/x'),
    }


# ---- names ---------------------------------------------------------------------------------------

@check
def name_lengths(d):
    ok, long = 'n' * 255, 'n' * 256
    out = {}
    out['create_255'] = attempt(lambda: os.close(os.open(f'{d}/{ok}', os.O_CREAT | os.O_WRONLY, 0o644)))
    out['create_256'] = attempt(os.open, f'{d}/{long}', os.O_CREAT | os.O_WRONLY, 0o644)
    out['stat_255'] = st(f'{d}/{ok}')
    out['stat_256'] = st(f'{d}/{long}')
    out['mkdir_255'] = attempt(os.mkdir, f'{d}/d{ok[1:]}')
    out['mkdir_256'] = attempt(os.mkdir, f'{d}/d{long[1:]}')
    out['rename_to_256'] = attempt(os.rename, f'{d}/{ok}', f'{d}/{long}')
    out['rename_to_255'] = attempt(os.rename, f'{d}/{ok}', f'{d}/r{ok[1:]}')
    out['symlink_256'] = attempt(os.symlink, 'x', f'{d}/{long}')
    out['link_256'] = attempt(os.link, f'{d}/r{ok[1:]}', f'{d}/{long}')
    out['unlink_256'] = attempt(os.unlink, f'{d}/{long}')
    out['multibyte_255_bytes'] = attempt(lambda: os.close(os.open(f'{d}/{"é" * 127}x', os.O_CREAT | os.O_WRONLY, 0o644)))
    out['multibyte_256_bytes'] = attempt(os.open, f'{d}/{"é" * 128}', os.O_CREAT | os.O_WRONLY, 0o644)
    out['listing_lengths'] = sorted(len(n.encode()) for n in os.listdir(d))
    return out


# ---- file bodies ---------------------------------------------------------------------------------

@check
def sparse_file(d):
    fd = os.open(f'{d}/sparse', os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b'tail', 10 * MiB)
        size_open = os.fstat(fd).st_size
        hole_open = os.pread(fd, 8192, 5 * MiB)
    finally:
        os.close(fd)
    data = read_file(f'{d}/sparse')
    fd = os.open(f'{d}/middle', os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b'head')
    os.lseek(fd, 3 * MiB, os.SEEK_SET)
    os.write(fd, b'mid')
    os.close(fd)
    middle = read_file(f'{d}/middle')
    return {
        'size_while_open': size_open,
        'hole_while_open_is_zero': hole_open == bytes(8192),
        'stat': st(f'{d}/sparse'),
        'holes_read_zero': data[:10 * MiB] == bytes(10 * MiB),
        'tail': data[10 * MiB:].decode(),
        'middle_size': len(middle),
        'middle_hole_zero': middle[4:3 * MiB] == bytes(3 * MiB - 4),
        'middle_bytes': [middle[:4].decode(), middle[3 * MiB:].decode()],
        'read_past_eof': len(os.pread(os.open(f'{d}/middle', os.O_RDONLY), 100, 10 * MiB)),
    }


@check
def offsets_past_4_gib(d):
    """Offsets and sizes that do not fit in 32 bits travel through FUSE as two halves."""
    GiB = 1024 * MiB
    fd = os.open(f'{d}/far', os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b'past four', 5 * GiB + 3)
    out = {'size': os.fstat(fd).st_size, 'read': os.pread(fd, 20, 5 * GiB).hex(), 'hole': os.pread(fd, 16, 4 * GiB) == bytes(16)}
    os.close(fd)
    os.truncate(f'{d}/far', 4 * GiB + 1)
    out['truncated'] = st(f'{d}/far')['size']
    fd = os.open(f'{d}/far', os.O_RDONLY)
    out['tail_after_truncate'] = os.pread(fd, 10, 4 * GiB - 2).hex()
    out['seek_end'] = os.lseek(fd, 0, os.SEEK_END)
    os.close(fd)
    return out


@check
def mmap_shared_write(d):
    write_file(f'{d}/f', b'.' * 10000)
    fd = os.open(f'{d}/f', os.O_RDWR)
    mapped = mmap.mmap(fd, 10000)
    mapped[100:105] = b'hello'
    mapped[9995:10000] = b'world'
    mapped.flush()
    via_read = os.pread(fd, 10000, 0)
    mapped.close()
    os.close(fd)
    data = read_file(f'{d}/f')
    fd = os.open(f'{d}/f', os.O_RDONLY)
    ro = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    mapped_read = bytes(ro[95:110])
    ro.close()
    os.close(fd)
    return {
        'read_while_mapped': [via_read[100:105].decode(), via_read[9995:].decode()],
        'after_close': [data[100:105].decode(), data[9995:].decode(), len(data)],
        'read_only_map': mapped_read.decode(),
    }


@check
def locks(d):
    write_file(f'{d}/f', b'locked')
    a = os.open(f'{d}/f', os.O_RDWR)
    b = os.open(f'{d}/f', os.O_RDWR)
    out = {'flock_a': attempt(fcntl.flock, a, fcntl.LOCK_EX | fcntl.LOCK_NB)}
    out['flock_b_while_held'] = attempt(fcntl.flock, b, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.flock(a, fcntl.LOCK_UN)
    out['flock_b_after_unlock'] = attempt(fcntl.flock, b, fcntl.LOCK_EX | fcntl.LOCK_NB)
    pid = os.fork()
    if pid == 0:
        c = os.open(f'{d}/f', os.O_RDWR)
        try:
            fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os._exit(0)
        except OSError as err:
            os._exit(err.errno)
    fcntl.lockf(a, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        c = os.open(f'{d}/f', os.O_RDWR)
        try:
            fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os._exit(0)
        except OSError as err:
            os._exit(err.errno)
    _, status = os.waitpid(pid, 0)
    out['posix_lock_from_other_process'] = errno.errorcode.get(os.waitstatus_to_exitcode(status), 'OK')
    os.close(a)
    os.close(b)
    return out


@check
def big_directory(d):
    """More entries than one page of the namespace's directory scan."""
    names = [f'entry-{i:05d}-{"x" * (i % 40)}' for i in range(2500)]
    for name in names:
        os.close(os.open(f'{d}/{name}', os.O_CREAT | os.O_WRONLY, 0o644))
    listed = os.listdir(d)
    for name in names[::2]:
        os.unlink(f'{d}/{name}')
    after = sorted(os.listdir(d))
    return {
        'count': len(listed), 'all_listed': sorted(listed) == sorted(names),
        'after_removing_half': [len(after), after == sorted(names[1::2])],
        'scandir_types': sorted({e.is_file() for e in os.scandir(d)}),
    }


@check
def statvfs(d):
    s = os.statvfs(d)
    return {'namemax': s.f_namemax, 'has_room': s.f_bavail > 0 and s.f_favail > 0}


@check
def truncate_up_down(d):
    write_file(f'{d}/f', bytes(range(256)) * 4)
    out = {'down': attempt(os.truncate, f'{d}/f', 100)}
    out['after_down'] = [st(f'{d}/f')['size'], read_file(f'{d}/f') == bytes(range(100))]
    out['up'] = attempt(os.truncate, f'{d}/f', 5000)
    data = read_file(f'{d}/f')
    out['after_up'] = [len(data), data[:100] == bytes(range(100)), data[100:] == bytes(4900)]
    fd = os.open(f'{d}/g', os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b'x' * 10000)
    out['ftruncate_unflushed_down'] = attempt(os.ftruncate, fd, 10)
    out['ftruncate_up'] = attempt(os.ftruncate, fd, 6000)
    out['fstat_size'] = os.fstat(fd).st_size
    out['read_after'] = os.pread(fd, 20000, 0) == b'x' * 10 + bytes(5990)
    os.pwrite(fd, b'end', 8000)
    os.close(fd)
    data = read_file(f'{d}/g')
    out['after_close'] = [len(data), data == b'x' * 10 + bytes(7990) + b'end']
    write_file(f'{d}/big', b'y' * (5 * MiB))
    os.truncate(f'{d}/big', 4 * MiB + 7)
    os.truncate(f'{d}/big', 6 * MiB)
    data = read_file(f'{d}/big')
    out['across_blocks'] = [len(data), data[:4 * MiB + 7] == b'y' * (4 * MiB + 7), data[4 * MiB + 7:] == bytes(2 * MiB - 7)]
    os.mkdir(f'{d}/dir')
    out['dir'] = attempt(os.truncate, f'{d}/dir', 0)
    out['missing'] = attempt(os.truncate, f'{d}/missing', 0)
    out['negative'] = attempt(os.truncate, f'{d}/f', -1)
    fd = os.open(f'{d}/f', os.O_RDONLY)
    out['ftruncate_rdonly'] = attempt(os.ftruncate, fd, 0)
    os.close(fd)
    return out


@check
def o_append_two_handles(d):
    write_file(f'{d}/log', b'start\n')
    a = os.open(f'{d}/log', os.O_WRONLY | os.O_APPEND)
    b = os.open(f'{d}/log', os.O_WRONLY | os.O_APPEND)
    for i in range(5):
        os.write(a, f'a{i}\n'.encode())
        os.write(b, f'b{i}\n'.encode())
    # pwrite on an O_APPEND descriptor appends on Linux, whatever the offset
    os.pwrite(a, b'pw\n', 0)
    os.close(a)
    os.close(b)
    c = os.open(f'{d}/log', os.O_RDWR | os.O_APPEND)
    os.lseek(c, 0, os.SEEK_SET)
    os.write(c, b'end\n')
    first = os.pread(c, 6, 0)
    os.close(c)
    return {'content': text(f'{d}/log'), 'first_bytes_kept': first.decode()}


def in_children(count, work):
    """Runs work(i) in `count` forked processes at once; returns their exit codes."""
    pids = []
    for i in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                work(i)
                os._exit(0)
            except BaseException:
                os._exit(1)
        pids.append(pid)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


@check
def concurrent_appenders(d):
    """O_APPEND writes from several processes never overwrite each other."""
    write_file(f'{d}/log', b'')

    def append(i):
        fd = os.open(f'{d}/log', os.O_WRONLY | os.O_APPEND)
        for n in range(300):
            os.write(fd, f'{i}:{n:04d}\n'.encode())
        os.close(fd)

    codes = in_children(3, append)
    lines = read_file(f'{d}/log').decode().split('\n')[:-1]
    return {
        'exit_codes': codes, 'lines': len(lines), 'distinct': len(set(lines)),
        'each_in_order': all([l for l in lines if l.startswith(f'{i}:')] == [f'{i}:{n:04d}' for n in range(300)] for i in range(3)),
    }


@check
def concurrent_disjoint_writers(d):
    """Processes writing separate ranges of one file through their own handles."""
    write_file(f'{d}/f', b'')
    piece = 700 * 1024

    def fill(i):
        fd = os.open(f'{d}/f', os.O_WRONLY)
        for k in range(0, piece, 64 * 1024):
            os.pwrite(fd, bytes([65 + i]) * min(64 * 1024, piece - k), i * piece + k)
        os.close(fd)

    codes = in_children(4, fill)
    data = read_file(f'{d}/f')
    return {'exit_codes': codes, 'size': len(data), 'ranges_intact': all(data[i * piece:(i + 1) * piece] == bytes([65 + i]) * piece for i in range(4))}


@check
def many_small_publishes(d):
    """Each fsync publishes a slice; a deep stack of them must still read as the last writes left it."""
    import random
    rng = random.Random(7)
    model = bytearray()
    fd = os.open(f'{d}/f', os.O_RDWR | os.O_CREAT, 0o644)
    for i in range(120):
        offset, data = rng.randrange(0, 6 * MiB), rng.randbytes(rng.randrange(1, 20000))
        os.pwrite(fd, data, offset)
        if offset + len(data) > len(model):
            model.extend(bytes(offset + len(data) - len(model)))
        model[offset:offset + len(data)] = data
        if i % 3 == 0:
            os.fsync(fd)
        if i % 40 == 39:
            size = rng.randrange(0, len(model))
            os.ftruncate(fd, size)
            del model[size:]
    os.close(fd)
    data = read_file(f'{d}/f')
    return {'size': len(data), 'equal_to_model': data == bytes(model)}


@check
def o_trunc(d):
    write_file(f'{d}/f', b'some old content')
    before = times(f'{d}/f')
    tick()
    fd = os.open(f'{d}/f', os.O_WRONLY | os.O_TRUNC)
    size_open = os.fstat(fd).st_size
    os.close(fd)
    out = {'size_while_open': size_open, 'stat': st(f'{d}/f'), 'times': changed(before, times(f'{d}/f'))}
    write_file(f'{d}/g', b'more old content')
    fd = os.open(f'{d}/g', os.O_RDWR | os.O_TRUNC)
    os.write(fd, b'new')
    os.close(fd)
    out['rewritten'] = text(f'{d}/g')
    write_file(f'{d}/h', b'content')
    fd = os.open(f'{d}/h', os.O_RDONLY | os.O_TRUNC)
    os.close(fd)
    out['rdonly_with_trunc'] = st(f'{d}/h')
    write_file(f'{d}/e', b'')
    before = times(f'{d}/e')
    tick()
    os.close(os.open(f'{d}/e', os.O_WRONLY | os.O_TRUNC))
    out['empty_file_times'] = changed(before, times(f'{d}/e'))
    return out


@check
def wrong_mode_handles(d):
    write_file(f'{d}/f', b'content')
    r = os.open(f'{d}/f', os.O_RDONLY)
    w = os.open(f'{d}/f', os.O_WRONLY)
    out = {
        'write_on_rdonly': attempt(os.write, r, b'x'),
        'read_on_wronly': attempt(os.read, w, 10),
        'pread_on_wronly': attempt(os.pread, w, 10, 0),
        'read_on_rdonly': os.read(r, 100).decode(),
        'write_on_wronly': attempt(os.write, w, b'C'),
    }
    os.close(r)
    os.close(w)
    out['content'] = text(f'{d}/f')
    out['closed_fd'] = attempt(os.read, w, 1)
    return out


@check
def unlinked_but_open(d):
    write_file(f'{d}/f', b'first ')
    fd = os.open(f'{d}/f', os.O_RDWR)
    out = {'unlink': attempt(os.unlink, f'{d}/f')}
    out['path_gone'] = st(f'{d}/f')
    out['listing'] = listing(d)
    os.lseek(fd, 0, os.SEEK_END)
    out['write'] = attempt(os.write, fd, b'second')
    out['read'] = os.pread(fd, 100, 0).decode()
    os.ftruncate(fd, 3)
    out['after_ftruncate'] = os.pread(fd, 100, 0).decode()
    os.fsync(fd)
    out['reopen_name'] = attempt(lambda: os.close(os.open(f'{d}/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)))
    out['new_file_empty'] = st(f'{d}/f')
    out['old_still_readable'] = os.pread(fd, 100, 0).decode()
    os.close(fd)
    return out


@check
def rename_over_open_file(d):
    write_file(f'{d}/target', b'old bytes')
    write_file(f'{d}/new', b'new bytes!')
    fd = os.open(f'{d}/target', os.O_RDWR)
    out = {'rename': attempt(os.rename, f'{d}/new', f'{d}/target')}
    out['old_handle'] = os.pread(fd, 100, 0).decode()
    out['path'] = text(f'{d}/target')
    os.pwrite(fd, b'OLD', 0)
    out['old_handle_after_write'] = os.pread(fd, 100, 0).decode()
    os.close(fd)
    out['path_after_close'] = text(f'{d}/target')
    out['listing'] = listing(d)
    return out


@check
def fstat_after_unlink_or_rename_over(d):
    """fstat of a file whose last name is gone (a common pattern: open a temp file, unlink, fstat).
    The kernel sends fstat as a GETATTR without the file handle; libfuse's high-level API answers it
    by path, and with hard_remove an unlinked node has none, so it fails ENOENT before Strata is asked."""
    write_file(f'{d}/f', b'unlinked')
    write_file(f'{d}/g', b'replaced')
    write_file(f'{d}/new', b'newer bytes')
    write_file(f'{d}/h', b'has another name')
    f = os.open(f'{d}/f', os.O_RDWR)
    g = os.open(f'{d}/g', os.O_RDONLY)
    h = os.open(f'{d}/h', os.O_RDONLY)
    os.link(f'{d}/h', f'{d}/h2')
    os.unlink(f'{d}/f')
    os.rename(f'{d}/new', f'{d}/g')
    os.unlink(f'{d}/h')
    out = {'unlinked': st(None, fd=f), 'renamed_over': st(None, fd=g), 'opened_name_unlinked_other_remains': st(None, fd=h)}
    out['write'] = attempt(os.write, f, b' and grown')
    out['unlinked_after_write'] = st(None, fd=f)
    for fd in (f, g, h):
        os.close(fd)
    return out


@check
def fifo(d):
    out = {'mkfifo': attempt(os.mkfifo, f'{d}/p', 0o640)}
    out['stat'] = st(f'{d}/p')
    out['again'] = attempt(os.mkfifo, f'{d}/p')
    out['mknod_reg'] = attempt(os.mknod, f'{d}/r', stat.S_IFREG | 0o600)
    out['reg'] = st(f'{d}/r')
    fd = os.open(f'{d}/p', os.O_RDONLY | os.O_NONBLOCK)
    out['nonblocking_read'] = attempt(os.read, fd, 10)
    os.close(fd)
    out['unlink'] = attempt(os.unlink, f'{d}/p')
    return out


@check
def fsync_and_dirs(d):
    fd = os.open(f'{d}/f', os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b'synced')
    out = {'fsync': attempt(os.fsync, fd), 'fdatasync': attempt(os.fdatasync, fd)}
    os.close(fd)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    out['fsync_dir'] = attempt(os.fsync, dfd)
    out['read_dir'] = attempt(os.read, dfd, 10)
    os.close(dfd)
    out['content'] = text(f'{d}/f')
    for name in ['c', 'a', 'b', 'ZZ', '.hidden']:
        write_file(f'{d}/{name}', b'')
    out['listing'] = listing(d)
    return out


# ---- times ---------------------------------------------------------------------------------------

@check
def times_write(d):
    write_file(f'{d}/f', b'abc')
    file_before, dir_before = times(f'{d}/f'), times(d)
    tick()
    fd = os.open(f'{d}/f', os.O_WRONLY)
    open_only = changed(file_before, times(None, fd))
    os.write(fd, b'x')
    during = times(None, fd)
    os.close(fd)
    after = times(f'{d}/f')
    out = {
        'open_for_write_alone': open_only,
        'write_on_fd': changed(file_before, during),
        'stamp_kept_by_close': during == after,
        'parent': changed(dir_before, times(d)),
    }
    before = times(f'{d}/f')
    tick()
    fd = os.open(f'{d}/f', os.O_WRONLY)
    os.write(fd, b'')
    os.close(fd)
    out['zero_length_write'] = changed(before, times(f'{d}/f'))
    before = times(f'{d}/f')
    tick()
    read_file(f'{d}/f')
    out['read'] = changed(before, times(f'{d}/f'))
    return out


@check
def times_truncate(d):
    write_file(f'{d}/f', b'abcdef')
    out = {}
    for label, op in [
        ('truncate_down', lambda: os.truncate(f'{d}/f', 3)),
        ('truncate_up', lambda: os.truncate(f'{d}/f', 30)),
        ('truncate_same_size', lambda: os.truncate(f'{d}/f', 30)),
    ]:
        before = times(f'{d}/f')
        tick()
        op()
        out[label] = changed(before, times(f'{d}/f'))
    fd = os.open(f'{d}/f', os.O_WRONLY)
    for label, size in [('ftruncate_down', 5), ('ftruncate_same_size', 5)]:
        before = times(f'{d}/f')
        tick()
        os.ftruncate(fd, size)
        out[label] = changed(before, times(None, fd))
    os.close(fd)
    return out


@check
def times_attrs(d):
    write_file(f'{d}/f', b'abc')
    os.mkdir(f'{d}/dir')
    out = {}
    for label, path, op in [
        ('chmod', f'{d}/f', lambda: os.chmod(f'{d}/f', 0o600)),
        ('chmod_same_mode', f'{d}/f', lambda: os.chmod(f'{d}/f', 0o600)),
        ('chown', f'{d}/f', lambda: os.chown(f'{d}/f', 1000, 1000)),
        ('chown_same_owner', f'{d}/f', lambda: os.chown(f'{d}/f', 1000, 1000)),
        ('chmod_dir', f'{d}/dir', lambda: os.chmod(f'{d}/dir', 0o700)),
        ('setxattr', f'{d}/f', lambda: os.setxattr(f'{d}/f', 'user.k', b'v')),
        ('removexattr', f'{d}/f', lambda: os.removexattr(f'{d}/f', 'user.k')),
    ]:
        before = times(path)
        tick()
        op()
        out[label] = changed(before, times(path))
    return out


@check
def times_namespace(d):
    os.mkdir(f'{d}/src')
    os.mkdir(f'{d}/dst')
    write_file(f'{d}/src/f', b'abc')
    out = {}

    def measure(label, paths, op, moved_to=None):
        before = [times(p) for p in paths]
        tick()
        op()
        out[label] = [changed(b, times(p)) for b, p in zip(before, moved_to or paths)]

    measure('create: parent', [f'{d}/src'], lambda: write_file(f'{d}/src/new', b''))
    measure('link: file, parent', [f'{d}/src/f', f'{d}/dst'], lambda: os.link(f'{d}/src/f', f'{d}/dst/hard'))
    measure('unlink one link: file, parent', [f'{d}/src/f', f'{d}/dst'], lambda: os.unlink(f'{d}/dst/hard'))
    measure('rename within dir: file, parent', [f'{d}/src/f', f'{d}/src'], lambda: os.rename(f'{d}/src/f', f'{d}/src/g'),
            [f'{d}/src/g', f'{d}/src'])
    measure('rename across: file, from, to', [f'{d}/src/g', f'{d}/src', f'{d}/dst'], lambda: os.rename(f'{d}/src/g', f'{d}/dst/g'),
            [f'{d}/dst/g', f'{d}/src', f'{d}/dst'])
    write_file(f'{d}/src/victim', b'v')
    os.link(f'{d}/src/victim', f'{d}/victim2')
    measure('rename over: replaced, from, to', [f'{d}/victim2', f'{d}/dst', f'{d}/src'], lambda: os.rename(f'{d}/dst/g', f'{d}/src/victim'))
    os.mkdir(f'{d}/src/sub')
    measure('rename dir across: dir, from, to', [f'{d}/src/sub', f'{d}/src', f'{d}/dst'], lambda: os.rename(f'{d}/src/sub', f'{d}/dst/sub'),
            [f'{d}/dst/sub', f'{d}/src', f'{d}/dst'])
    measure('mkdir: parent', [f'{d}/dst'], lambda: os.mkdir(f'{d}/dst/m'))
    measure('rmdir: parent', [f'{d}/dst'], lambda: os.rmdir(f'{d}/dst/m'))
    measure('symlink: parent', [f'{d}/dst'], lambda: os.symlink('x', f'{d}/dst/sym'))
    measure('failed create: parent', [f'{d}/dst'], lambda: attempt(os.mkdir, f'{d}/dst/sym'))
    measure('overwrite existing file: file, parent', [f'{d}/src/victim', f'{d}/src'], lambda: write_file(f'{d}/src/victim', b'w'))
    return out


@check
def utimens(d):
    write_file(f'{d}/f', b'abc')
    os.mkdir(f'{d}/dir')
    os.symlink('f', f'{d}/link')
    atime_ns, mtime_ns = 1_600_000_000_123 * 1_000_000, 1_500_000_000_456 * 1_000_000
    out = {}
    before = times(f'{d}/f')
    tick()
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    s = os.stat(f'{d}/f')
    out['explicit'] = [s.st_atime_ns == atime_ns, s.st_mtime_ns == mtime_ns, changed(before, times(f'{d}/f'))['ctime']]
    os.utime(f'{d}/dir', ns=(atime_ns, mtime_ns))
    s = os.stat(f'{d}/dir')
    out['dir'] = [s.st_atime_ns == atime_ns, s.st_mtime_ns == mtime_ns]
    os.utime(f'{d}/f', ns=(0, 1_000_000))
    s = os.stat(f'{d}/f')
    out['near_epoch'] = [s.st_atime_ns, s.st_mtime_ns]
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    now_ns = time.time_ns()
    os.utime(f'{d}/f')
    s = os.stat(f'{d}/f')
    out['now'] = [abs(s.st_atime_ns - now_ns) < 5e9, abs(s.st_mtime_ns - now_ns) < 5e9]
    fd = os.open(f'{d}/f', os.O_RDONLY)
    os.utime(fd, ns=(atime_ns, mtime_ns))
    s = os.fstat(fd)
    os.close(fd)
    out['futimens'] = [s.st_atime_ns == atime_ns, s.st_mtime_ns == mtime_ns]
    fd = os.open(f'{d}/g', os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b'pending write')
    os.utime(fd, ns=(atime_ns, mtime_ns))
    os.close(fd)
    out['after_pending_write'] = os.stat(f'{d}/g').st_mtime_ns == mtime_ns
    out['symlink_nofollow'] = attempt(os.utime, f'{d}/link', ns=(atime_ns, mtime_ns), follow_symlinks=False)
    out['missing'] = attempt(os.utime, f'{d}/missing', ns=(atime_ns, mtime_ns))
    return out


@check
def times_of_an_open_file(d):
    """tar and cp -p write a file, then set its times, owner and mode through the open descriptor,
    then close it: each change shows at once, and the close keeps what stat showed."""
    out = {}
    fd = os.open(f'{d}/f', os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b'pending')
    tick()
    os.fchmod(fd, 0o600)
    s = os.fstat(fd)
    out['chmod_after_write'] = {'ctime_after_mtime': s.st_ctime_ns > s.st_mtime_ns}
    os.close(fd)
    closed = os.stat(f'{d}/f')
    out['chmod_closed'] = {'kept': times(f'{d}/f') == (s.st_mtime_ns, s.st_ctime_ns), 'mode': oct(stat.S_IMODE(closed.st_mode))}
    mtime_ns = 1_500_000_000_456 * 1_000_000
    fd = os.open(f'{d}/g', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b'extracted')
    tick()
    os.utime(fd, ns=(mtime_ns, mtime_ns))
    os.fchown(fd, os.getuid(), os.getgid())
    os.fchmod(fd, 0o644)
    before_close = times(None, fd=fd)
    os.close(fd)
    s = os.stat(f'{d}/g')
    out['tar_order'] = {'mtime': s.st_mtime_ns == mtime_ns, 'ctime_now': s.st_ctime_ns > mtime_ns,
                        'kept': times(f'{d}/g') == before_close, 'mode': oct(stat.S_IMODE(s.st_mode)), 'size': s.st_size}
    fd = os.open(f'{d}/g', os.O_WRONLY)
    os.utime(fd, ns=(mtime_ns, mtime_ns))
    tick()
    os.write(fd, b'more')
    os.close(fd)
    out['write_after_utimens_moves_mtime'] = os.stat(f'{d}/g').st_mtime_ns != mtime_ns
    return out


@check
def touch_command(d):
    """touch(1): UTIME_NOW and UTIME_OMIT, which utimensat passes as special nanosecond values."""
    write_file(f'{d}/f', b'abc')
    atime_ns, mtime_ns = 1_600_000_000_123 * 1_000_000, 1_500_000_000_456 * 1_000_000
    now_ns = time.time_ns()
    recent = lambda ns: abs(ns - now_ns) < 5e9
    out = {}
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    os.system(f"touch '{d}/f'")
    s = os.stat(f'{d}/f')
    out['touch'] = [recent(s.st_atime_ns), recent(s.st_mtime_ns)]
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    os.system(f"touch -m '{d}/f'")
    s = os.stat(f'{d}/f')
    out['touch_m'] = [s.st_atime_ns == atime_ns, recent(s.st_mtime_ns)]
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    os.system(f"touch -a '{d}/f'")
    s = os.stat(f'{d}/f')
    out['touch_a'] = [recent(s.st_atime_ns), s.st_mtime_ns == mtime_ns]
    os.utime(f'{d}/f', ns=(atime_ns, mtime_ns))
    os.system(f"touch -m -d '2001-02-03 04:05:06.789' '{d}/f'")
    s = os.stat(f'{d}/f')
    out['touch_m_date'] = [s.st_atime_ns == atime_ns, time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(s.st_mtime)), s.st_mtime_ns % 10**9]
    os.system(f"touch '{d}/created'")
    out['creates'] = st(f'{d}/created')
    return out


# ---- attributes ----------------------------------------------------------------------------------

@check
def chmod_chown(d):
    write_file(f'{d}/f', b'abc')
    os.mkdir(f'{d}/dir')
    os.symlink('f', f'{d}/link')
    out = {}
    for mode in [0o600, 0o4755, 0o2755, 0o1777, 0o7777, 0o000]:
        os.chmod(f'{d}/f', mode)
        out[f'file {oct(mode)}'] = st(f'{d}/f')['mode']
    os.chmod(f'{d}/dir', 0o3775)
    out['dir'] = st(f'{d}/dir')['mode']
    os.chmod(f'{d}/link', 0o640)
    out['through_symlink'] = [st(f'{d}/f')['mode'], st(f'{d}/link')['mode']]
    out['chown'] = attempt(os.chown, f'{d}/f', 1000, 1001)
    out['owner'] = st(f'{d}/f')
    out['chown_uid_only'] = attempt(os.chown, f'{d}/f', 1002, -1)
    out['chown_gid_only'] = attempt(os.chown, f'{d}/f', -1, 1003)
    out['owner2'] = st(f'{d}/f')
    os.chmod(f'{d}/f', 0o6755)
    os.chown(f'{d}/f', 0, 0)
    out['chown_clears_setuid_setgid'] = st(f'{d}/f')['mode']
    os.chmod(f'{d}/f', 0o2745)
    os.chown(f'{d}/f', 1000, -1)
    out['chown_keeps_setgid_without_group_exec'] = st(f'{d}/f')['mode']
    os.chmod(f'{d}/dir', 0o6755)
    os.chown(f'{d}/dir', 1000, 1000)
    out['chown_dir_keeps_bits'] = st(f'{d}/dir')
    out['lchown'] = attempt(os.lchown, f'{d}/link', 1000, 1000)
    out['link_owner'] = st(f'{d}/link')
    out['chmod_missing'] = attempt(os.chmod, f'{d}/missing', 0o600)
    return out


@check
def xattrs(d):
    write_file(f'{d}/f', b'abc')
    os.mkdir(f'{d}/dir')
    os.symlink('f', f'{d}/link')
    f = f'{d}/f'
    out = {}
    out['get_missing'] = attempt(os.getxattr, f, 'user.none')
    out['set'] = attempt(os.setxattr, f, 'user.color', b'blue')
    out['get'] = attempt(os.getxattr, f, 'user.color')
    out['set_binary'] = attempt(os.setxattr, f, 'user.bin', bytes(range(256)))
    out['binary_round_trip'] = os.getxattr(f, 'user.bin') == bytes(range(256))
    out['set_empty'] = attempt(os.setxattr, f, 'user.empty', b'')
    out['get_empty'] = attempt(os.getxattr, f, 'user.empty')
    out['list'] = sorted(os.listxattr(f))
    out['create_existing'] = attempt(os.setxattr, f, 'user.color', b'red', os.XATTR_CREATE)
    out['replace_missing'] = attempt(os.setxattr, f, 'user.shape', b'round', os.XATTR_REPLACE)
    out['replace_existing'] = attempt(os.setxattr, f, 'user.color', b'green', os.XATTR_REPLACE)
    out['create_new'] = attempt(os.setxattr, f, 'user.shape', b'square', os.XATTR_CREATE)
    out['values'] = [os.getxattr(f, 'user.color').decode(), os.getxattr(f, 'user.shape').decode()]
    out['remove'] = attempt(os.removexattr, f, 'user.color')
    out['remove_missing'] = attempt(os.removexattr, f, 'user.color')
    out['get_removed'] = attempt(os.getxattr, f, 'user.color')
    out['list_after'] = sorted(os.listxattr(f))
    out['dir'] = [attempt(os.setxattr, f'{d}/dir', 'user.d', b'1'), sorted(os.listxattr(f'{d}/dir'))]
    out['symlink_user_ns'] = attempt(os.setxattr, f'{d}/link', 'user.s', b'1', follow_symlinks=False)
    out['through_symlink'] = [attempt(os.setxattr, f'{d}/link', 'user.via', b'1'), sorted(os.listxattr(f))]
    out['missing_file'] = attempt(os.getxattr, f'{d}/missing', 'user.x')
    out['unknown_namespace'] = [attempt(os.setxattr, f, n, b'1') for n in ['bogus.x', 'system.x', 'user', 'xuser.x']]
    out['unknown_namespace_get_remove'] = [attempt(os.getxattr, f, 'bogus.x'), attempt(os.removexattr, f, 'bogus.x')]
    out['bare_prefix'] = [attempt(os.setxattr, f, 'user.', b'1'), attempt(os.getxattr, f, 'user.'), attempt(os.removexattr, f, 'user.')]
    out['trusted_as_root'] = [attempt(os.setxattr, f, 'trusted.t', b'1'), attempt(os.getxattr, f, 'trusted.t'), attempt(os.removexattr, f, 'trusted.t')]
    out['name_of_255_and_256_bytes'] = [attempt(os.setxattr, f, 'user.' + 'n' * 250, b'1'), attempt(os.setxattr, f, 'user.' + 'n' * 251, b'1')]
    os.removexattr(f, 'user.' + 'n' * 250)
    out['empty_name'] = attempt(os.setxattr, f, '', b'1')
    # ext4 keeps all of an inode's xattrs in one 4 KiB block; stay well inside it
    out['long_value'] = attempt(os.setxattr, f, 'user.big', b'v' * 1500)
    out['big_round_trip'] = os.getxattr(f, 'user.big') == b'v' * 1500
    os.link(f, f'{d}/hard')
    out['shared_by_hard_link'] = sorted(os.listxattr(f'{d}/hard'))
    return out


# ---- main ----------------------------------------------------------------------------------------

def main():
    if sys.argv[1:] == ['--list']:
        print(json.dumps(sorted(CHECKS)))
        return
    root, which = sys.argv[1], sys.argv[2]
    names = sorted(CHECKS) if which == 'all' else which.split(',')
    os.umask(0o022)
    results = {}
    for name in names:
        d = os.path.join(root, name)
        os.mkdir(d)
        try:
            results[name] = CHECKS[name](d)
        except Exception as err:  # an unexpected errno or a probe bug: reported with its line, never hidden
            frames = traceback.extract_tb(err.__traceback__)
            line = [f.lineno for f in frames if f.name == name][-1:] or [frames[-1].lineno]
            what = errname(err) if isinstance(err, OSError) else f'{type(err).__name__}: {err}'.replace(root, '<dir>')
            results[name] = {'unexpected': what, 'line': line}
    print(json.dumps(results, indent=1, sort_keys=True))


if __name__ == '__main__':
    main()
