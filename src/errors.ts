// The engine's typed errors. Each names one POSIX condition; mount/errno.ts maps them to errno in
// exactly one place, and the CLI prints their messages. Messages say what failed, with path or key.

export type ErrorCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTEMPTY' | 'EISDIR' | 'ENOTDIR' | 'ENAMETOOLONG' | 'EINVAL'
  | 'EPERM' | 'EACCES' | 'ELOOP' | 'EROFS' | 'EIO' | 'ENOSPC' | 'ENODATA' | 'ERANGE'
  | 'EBADF' | 'EXDEV' | 'EMLINK' | 'EFBIG' | 'EBUSY' | 'ENOTSUP';

export class StrataError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
  }
}

/**
 * `captureStack` false is for answers the kernel asks for all the time (a name that is not there, an
 * attribute a file does not have: a lookup before each create, security.capability before each
 * write): capturing a stack costs more than the rest of such a call, and nobody reads it.
 */
const make = (code: ErrorCode, captureStack = true) => (message: string, cause?: unknown) => {
  const limit = Error.stackTraceLimit;
  if (!captureStack) Error.stackTraceLimit = 0;
  try {
    return new StrataError(code, message, cause === undefined ? undefined : { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
};

export const NotFound = make('ENOENT', false);
export const Exists = make('EEXIST');
export const NotEmpty = make('ENOTEMPTY');
export const IsDirectory = make('EISDIR');
export const NotDirectory = make('ENOTDIR');
export const NameTooLong = make('ENAMETOOLONG');
export const Invalid = make('EINVAL');
export const NotPermitted = make('EPERM');
export const AccessDenied = make('EACCES');
export const ReadOnly = make('EROFS');
export const IOError = make('EIO');
export const NoSpace = make('ENOSPC');
export const NoAttribute = make('ENODATA', false);
export const NotSupported = make('ENOTSUP');

/** The errno name a failure stands for: its own code when it is ours, EIO for anything else. */
export function codeOf(err: unknown): ErrorCode {
  return err instanceof StrataError ? err.code : 'EIO';
}

export function isStrataError(err: unknown, code?: ErrorCode): err is StrataError {
  return err instanceof StrataError && (code === undefined || err.code === code);
}
