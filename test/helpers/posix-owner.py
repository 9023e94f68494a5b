#!/usr/bin/env python3
# Ownership and permission checks for test/posix/ownership.test.ts, in two steps against a directory:
#
#   python3 posix-owner.py <dir> setup   as root: a 0777 dir, a setgid dir of group 2000, a sticky
#                                        dir, root-owned files
#   python3 posix-owner.py <dir> run     as uid 1000 / gid 1000: creates, chmods, chowns, writes;
#                                        prints one JSON object of results (errno names, owners, modes)
#
# The suite runs both steps on a local ext4 directory and on a Strata mount (--allow-other) and
# asserts the printed results are equal.

import errno
import json
import os
import stat
import sys

OTHER_GROUP = 2000


def attempt(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except OSError as err:
        return errno.errorcode.get(err.errno, str(err.errno))
    return 'OK'


def owner(path):
    try:
        s = os.lstat(path)
    except OSError as err:
        return errno.errorcode.get(err.errno, str(err.errno))
    return {'uid': s.st_uid, 'gid': s.st_gid, 'mode': oct(stat.S_IMODE(s.st_mode))}


def setup(d):
    os.umask(0)
    os.mkdir(f'{d}/shared', 0o777)
    os.mkdir(f'{d}/sgid', 0o2777)
    os.chown(f'{d}/sgid', 0, OTHER_GROUP)
    os.chmod(f'{d}/sgid', 0o2777)
    os.mkdir(f'{d}/sticky', 0o1777)
    os.mkdir(f'{d}/private', 0o700)
    for path, mode in [(f'{d}/rootfile', 0o644), (f'{d}/sticky/rootfile', 0o666), (f'{d}/shared/rootfile', 0o644)]:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, mode)
        os.write(fd, b'root')
        os.close(fd)
        os.chmod(path, mode)


def run(d):
    os.umask(0o022)
    out = {'whoami': [os.getuid(), os.getgid()]}
    s = f'{d}/shared'
    fd = os.open(f'{s}/mine', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777)
    os.write(fd, b'mine')
    os.close(fd)
    out['create'] = owner(f'{s}/mine')
    os.mkdir(f'{s}/mydir', 0o777)
    out['mkdir'] = owner(f'{s}/mydir')
    os.symlink('mine', f'{s}/mylink')
    out['symlink'] = owner(f'{s}/mylink')
    os.mkfifo(f'{s}/myfifo', 0o666)
    out['mkfifo'] = owner(f'{s}/myfifo')
    os.link(f'{s}/mine', f'{s}/myhard')
    out['hard_link_keeps_owner'] = owner(f'{s}/myhard')
    out['chmod_own'] = [attempt(os.chmod, f'{s}/mine', 0o640), owner(f'{s}/mine')]
    out['chmod_root_file'] = attempt(os.chmod, f'{d}/rootfile', 0o666)
    out['chown_own_to_root'] = attempt(os.chown, f'{s}/mine', 0, -1)
    out['chgrp_own_to_foreign_group'] = attempt(os.chown, f'{s}/mine', -1, OTHER_GROUP)
    out['chgrp_own_to_own_group'] = attempt(os.chown, f'{s}/mine', -1, 1000)
    out['chown_root_file'] = attempt(os.chown, f'{d}/rootfile', 1000, 1000)
    out['write_root_file'] = attempt(os.open, f'{d}/rootfile', os.O_WRONLY)
    out['read_root_file'] = attempt(lambda: os.close(os.open(f'{d}/rootfile', os.O_RDONLY)))
    out['truncate_root_file'] = attempt(os.truncate, f'{d}/rootfile', 0)
    out['create_in_root_dir'] = attempt(os.open, f'{d}/new', os.O_WRONLY | os.O_CREAT, 0o644)
    out['mkdir_in_root_dir'] = attempt(os.mkdir, f'{d}/newdir')
    out['list_private_dir'] = attempt(os.listdir, f'{d}/private')
    out['stat_in_private_dir'] = attempt(os.stat, f'{d}/private/x')
    out['utime_explicit_root_file'] = attempt(os.utime, f'{d}/rootfile', ns=(10**18, 10**18))
    out['utime_now_root_file'] = attempt(os.utime, f'{d}/rootfile')
    out['utime_explicit_own'] = attempt(os.utime, f'{s}/mine', ns=(10**18, 10**18))
    out['setxattr_root_file'] = attempt(os.setxattr, f'{d}/rootfile', 'user.x', b'1')
    out['setxattr_own'] = attempt(os.setxattr, f'{s}/mine', 'user.x', b'1')
    out['unlink_root_file_in_0777_dir'] = attempt(os.unlink, f'{s}/rootfile')
    out['unlink_root_file_in_sticky_dir'] = attempt(os.unlink, f'{d}/sticky/rootfile')
    out['rename_root_file_in_sticky_dir'] = attempt(os.rename, f'{d}/sticky/rootfile', f'{d}/sticky/moved')
    out['write_0666_root_file'] = attempt(lambda: os.close(os.open(f'{d}/sticky/rootfile', os.O_WRONLY)))
    out['chmod_setgid_own_group'] = [attempt(os.chmod, f'{s}/mine', 0o2755), owner(f'{s}/mine')]
    g = f'{d}/sgid'
    fd = os.open(f'{g}/file', os.O_WRONLY | os.O_CREAT, 0o2755)
    os.close(fd)
    out['setgid_dir_file'] = owner(f'{g}/file')
    os.mkdir(f'{g}/sub', 0o755)
    out['setgid_dir_subdir'] = owner(f'{g}/sub')
    fd = os.open(f'{g}/sub/deeper', os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    out['setgid_inherited_twice'] = owner(f'{g}/sub/deeper')
    os.mkfifo(f'{g}/fifo', 0o644)
    out['setgid_dir_fifo'] = owner(f'{g}/fifo')
    out['chmod_setgid_foreign_group_file'] = [attempt(os.chmod, f'{g}/file', 0o2755), owner(f'{g}/file')]
    fd = os.open(f'{s}/mine', os.O_WRONLY)
    os.fchmod(fd, 0o4755)
    os.write(fd, b'!')
    os.close(fd)
    out['write_clears_setuid'] = owner(f'{s}/mine')
    out['rename_own_file'] = attempt(os.rename, f'{s}/mine', f'{s}/renamed')
    out['rmdir_own_dir'] = attempt(os.rmdir, f'{s}/mydir')
    out['listing'] = sorted(os.listdir(s))
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == '__main__':
    {'setup': setup, 'run': run}[sys.argv[2]](sys.argv[1])
