// The one place engine errors become errno values for the kernel. Anything unexpected is EIO and
// is logged with its path, never thrown into fuse-native (which would take the mount down).

import { constants } from 'node:os';
import { StrataError } from '../src/errors.js';

export function errnoOf(err: unknown): number {
  if (err instanceof StrataError) {
    const errno = (constants.errno as Record<string, number>)[err.code === 'ENOTSUP' ? 'EOPNOTSUPP' : err.code];
    if (errno !== undefined) return -errno;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') {
    const errno = (constants.errno as Record<string, number>)[code];
    if (errno !== undefined) return -errno;
  }
  return -constants.errno.EIO;
}

export const ERRNO = {
  ENOENT: -constants.errno.ENOENT,
  EBADF: -constants.errno.EBADF,
  EROFS: -constants.errno.EROFS,
  EISDIR: -constants.errno.EISDIR,
  EINVAL: -constants.errno.EINVAL,
  EPERM: -constants.errno.EPERM,
  ENODATA: -constants.errno.ENODATA,
  ERANGE: -constants.errno.ERANGE,
  ENOTSUP: -constants.errno.EOPNOTSUPP,
} as const;
