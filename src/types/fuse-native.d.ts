// Type declarations for fuse-native 2.2.6 as patched by scripts/fuse-native/patch.mjs
// ("strata-fuse-context-patch v4").
//
// Runtime facts (read from fuse-native's index.js / fuse-native.c, libfuse 2.9 high-level API):
// - Errors are NEGATIVE errno numbers (Fuse.ENOENT === -2). Every callback's first argument is
//   the result the kernel gets: 0 / a byte count / a negative errno. With the patch, null or
//   undefined mean 0 and an Error means its negative .errno (Node system errors) or EIO; without
//   it any non-number threw "Expected number" and the request was never answered.
// - All handlers run on the Node main thread, one dispatch at a time; the FUSE thread that issued
//   a request blocks until its callback is called. Never make synchronous fs calls into the
//   mount from the mounting process (deadlock). A handler that throws synchronously or an async
//   handler whose promise rejects leaves the request unanswered (uncaught exception): catch and
//   call cb(Fuse.EIO).
// - Patched: every handler receives one extra LAST argument after its callback: the caller's
//   FuseContext for that request. It stays valid across awaits (it is a plain object made for that
//   call). fuse.context() returns the same object but only synchronously inside a handler; it is
//   null after the first await/tick.
// - Buffers passed to read/write/setxattr (and the getxattr/listxattr output buffers) are
//   external memory owned by libfuse: they are detached after the callback. Copy what you keep
//   (write: copy buf before calling cb).
// - Times: stat times are sent as whole milliseconds (Date or number of ms); utimens gives whole
//   milliseconds (sub-millisecond part truncated). Patched (flag_utime_omit_ok): a time the caller
//   leaves alone (UTIME_OMIT: `touch -m`, `touch -a`, tar's restores) arrives as undefined, and
//   UTIME_NOW as the current time read by the addon; unpatched, libfuse 2.9 silently dropped
//   single-time updates.
// - Null paths (patched, flag_nullpath_ok): an operation on an open handle whose name is gone
//   (unlinked or renamed over; kept alive with -o hard_remove) gets path === null. Use the handle.
//   This affects the handle ops (read, write, flush, fsync, release, ftruncate, fgetattr, readdir,
//   releasedir, fsyncdir) and the setattr family when done through a handle (fchmod, fchown,
//   futimens). Unpatched, libfuse answered ENOENT itself for all of these.
// - Options that are falsy are dropped: attrTimeout: 0 is ignored — pass '0' (string).

declare module 'fuse-native' {
  namespace Fuse {
    /** Caller of the operation (fuse_get_context() on the FUSE thread). Patched API. */
    interface FuseContext {
      /** uid of the calling process (in the mounting process's user namespace). 0 for init and for
       *  requests the kernel sends without credentials (release: uid 0, gid 0, pid 0). */
      uid: number;
      gid: number;
      /** Thread id of the caller (0 for release and kernel-internal requests). */
      pid: number;
      /** Caller's umask, sent by the kernel for create/mkdir/mknod only (0 otherwise). The mode
       *  those ops receive already has it applied (FUSE_CAP_DONT_MASK is not negotiated). */
      umask: number;
    }

    /** What getattr/readdir return. Missing numbers default to 0 (nlink to 1, times to now). */
    interface Stat {
      /** Full st_mode: type bits | permission bits (e.g. 0o100644, 0o40755). */
      mode?: number;
      uid?: number;
      gid?: number;
      /** Bytes; exact up to 2^53. */
      size?: number;
      dev?: number;
      nlink?: number;
      /** Sent as 32 bits (truncated); the kernel only uses it with the use_ino option. */
      ino?: number;
      rdev?: number;
      blksize?: number;
      /** 512-byte blocks. */
      blocks?: number;
      /** Date or milliseconds since the epoch; whole milliseconds are kept. */
      atime?: Date | number;
      mtime?: Date | number;
      ctime?: Date | number;
      /** Patched (v3): seconds the kernel may cache these attributes, above the mount's attrTimeout.
       *  Honoured for directories in every reply and for other inodes in lookup and create replies,
       *  where the addon records them so that forgetCachedAttrs can drop them. */
      attrTimeout?: number;
    }

    /** statfs result; every field is sent as an unsigned 32-bit integer (larger values wrap). */
    interface Statfs {
      bsize?: number;
      frsize?: number;
      blocks?: number;
      bfree?: number;
      bavail?: number;
      files?: number;
      ffree?: number;
      favail?: number;
      fsid?: number;
      flag?: number;
      namemax?: number;
    }

    /** 0 on success or a negative errno. null/undefined count as 0, an Error as its errno or EIO (patched). */
    type Result = number | null | undefined | { errno?: number };
    type DoneCallback = (err: Result) => void;
    /** Patched (v7): the stat answers the getattr libfuse's setattr sends right after, without a call. */
    type ChangedCallback = (err: Result, stat?: Stat) => void;
    type Ctx = FuseContext;

    /** Per-op timeouts: number of ms, or false for none. Timed-out ops answer ETIMEDOUT. */
    type TimeoutOption = number | false | ({ default?: number } & { [op: string]: number | false | undefined });

    interface Options {
      /** Before mounting, lazily unmount (fusermount -uz) the mountpoint if it is a dead FUSE mount. */
      force?: boolean;
      /** Create the mountpoint (recursive) if missing. */
      mkdir?: boolean;
      /** Default 15000 ms per operation; false disables (recommended: false). */
      timeout?: TimeoutOption;
      /** macOS only. */
      displayFolder?: boolean;
      /** macOS volume name (with displayFolder). */
      name?: string;
      /** libfuse debug output on stderr (also DEBUG=fuse-bindings). */
      debug?: boolean;
      /** -o allow_other: other users may access the mount (root needs nothing in /etc/fuse.conf). */
      allowOther?: boolean;
      /** -o allow_root */
      allowRoot?: boolean;
      /** -o auto_unmount: a fusermount helper unmounts if the process dies (checked: kill -9). */
      autoUnmount?: boolean;
      /** -o default_permissions: the kernel checks mode/owner permissions (and chown/chgrp rules). */
      defaultPermissions?: boolean;
      blkdev?: boolean;
      blksize?: number | string;
      /** -o max_read=N: caps read request size (default reads arrive as 128 KiB). */
      maxRead?: number | string;
      /** Patched (v6): reads and writes of up to this many pages per request where the kernel
       *  allows it (its limit is 256 by default); 0 or up to 32 keeps 128 KiB. Writes also need
       *  max_write (on fsname) to match. Checked: 256 pages and max_write=1048576 give 1 MiB writes. */
      maxPages?: number;
      fd?: number | string;
      /** BROKEN upstream: produces "user_id=,N". Do not use. */
      userId?: never;
      /** -o fsname=VALUE. The value is pasted verbatim into the single -o string, so extra
       *  comma-separated options ride along: 'strata,big_writes,max_write=131072' (checked:
       *  4 MiB arrive as 32 x 131072-byte writes; max_write alone still gives 4 KiB writes;
       *  max_write above 131072 is capped at 131072 unless maxPages is larger). An unknown
       *  option makes mount fail with
       *  "fuse failed" (patched: the half-made kernel mount is removed). */
      fsname?: string;
      /** -o subtype=VALUE (type shows as fuse.VALUE); also accepts trailing ,options. */
      subtype?: string;
      kernelCache?: boolean;
      autoCache?: boolean;
      /** -o umask=… (octal string recommended). Overrides the mode reported for all nodes. */
      umask?: number | string;
      /** -o uid=N / gid=N: override owner reported for all nodes (0 is ignored: falsy). */
      uid?: number | string;
      gid?: number | string;
      /** Seconds, as string or number. 0 is dropped (falsy): pass '0'. */
      entryTimeout?: number | string;
      attrTimeout?: number | string;
      acAttrTimeout?: number | string;
      noforget?: boolean;
      remember?: number | string;
      modules?: string;
    }

    /**
     * Operation handlers. Every handler gets the caller context as its LAST argument (after the
     * callback) — patched API. Handlers not given are not registered (the kernel gets ENOSYS),
     * except getattr: without it only '/' exists.
     */
    interface Operations {
      init?(cb: DoneCallback, ctx: Ctx): void;
      error?(cb: DoneCallback, ctx: Ctx): void;
      /** Only called without default_permissions. mode: F_OK/R_OK/W_OK/X_OK bits. */
      access?(path: string, mode: number, cb: DoneCallback, ctx: Ctx): void;
      statfs?(path: string, cb: (err: Result, statfs?: Statfs) => void, ctx: Ctx): void;
      getattr?(path: string, cb: (err: Result, stat?: Stat) => void, ctx: Ctx): void;
      /** fstat on an open file: fd is the handle from open/create (patched; upstream called getattr(path)). */
      fgetattr?(path: string | null, fd: number, cb: (err: Result, stat?: Stat) => void, ctx: Ctx): void;
      flush?(path: string | null, fd: number, cb: DoneCallback, ctx: Ctx): void;
      /** datasync: 1 for fdatasync, 0 for fsync. */
      fsync?(path: string | null, datasync: number, fd: number, cb: DoneCallback, ctx: Ctx): void;
      fsyncdir?(path: string | null, datasync: number, fd: number, cb: DoneCallback, ctx: Ctx): void;
      /** All entries at once. If stats is given and has the same length as names, each entry
       *  carries its stat (libfuse 2.9 does not use it for lookups). */
      readdir?(path: string | null, cb: (err: Result, names?: string[], stats?: Stat[]) => void, ctx: Ctx): void;
      truncate?(path: string | null, size: number, cb: DoneCallback, ctx: Ctx): void;
      ftruncate?(path: string | null, fd: number, size: number, cb: DoneCallback, ctx: Ctx): void;
      /** Whole milliseconds since the epoch; undefined = leave that time unchanged (see header). */
      utimens?(path: string | null, atime: number | undefined, mtime: number | undefined, cb: ChangedCallback, ctx: Ctx): void;
      readlink?(path: string, cb: (err: Result, linkname?: string) => void, ctx: Ctx): void;
      /** uid/gid 4294967295 (-1 as uint32) means "leave unchanged". */
      chown?(path: string | null, uid: number, gid: number, cb: ChangedCallback, ctx: Ctx): void;
      /** mode includes the file type bits (e.g. 0o102755); mask with 0o7777. */
      chmod?(path: string | null, mode: number, cb: ChangedCallback, ctx: Ctx): void;
      /** mode = type bits | permissions with the umask already applied; dev as 32-bit. Regular
       *  files go to create when it is implemented. */
      mknod?(path: string, mode: number, dev: number, cb: DoneCallback, ctx: Ctx): void;
      /** value: kernel memory, valid until cb (copy it). position: always 0 on Linux.
       *  flags: XATTR_CREATE (1) / XATTR_REPLACE (2). */
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: DoneCallback, ctx: Ctx): void;
      /** Return the whole value; null/undefined answers ENODATA. fuse-native copies it into the
       *  kernel's buffer, answering the size for a size probe and (patched) ERANGE if too small. */
      getxattr?(path: string, name: string, position: number, cb: (err: Result, value?: Buffer | null) => void, ctx: Ctx): void;
      /** Return all names; sizing/ERANGE is handled by fuse-native (patched). */
      listxattr?(path: string, cb: (err: Result, names?: string[]) => void, ctx: Ctx): void;
      removexattr?(path: string, name: string, cb: DoneCallback, ctx: Ctx): void;
      /** flags: open(2) flags as seen by the FS (O_CREAT/O_EXCL/O_TRUNC handled by the kernel).
       *  fd: a positive 31-bit handle passed back to read/write/release…; 0 means "none". */
      open?(path: string, flags: number, cb: (err: Result, fd?: number) => void, ctx: Ctx): void;
      /** NOTE upstream quirk: the second argument is the (still 0) file handle, not the flags. */
      opendir?(path: string, flags: number, cb: (err: Result, fd?: number) => void, ctx: Ctx): void;
      /** cb(bytesRead) or cb(negative errno). Fill buf (length len) from position pos. */
      read?(path: string | null, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesReadOrErr: number) => void, ctx: Ctx): void;
      /** cb(bytesWritten) or cb(negative errno). buf is kernel memory: copy before cb. len is up to
       *  4 KiB without big_writes, up to 128 KiB with big_writes (more with maxPages). */
      write?(path: string | null, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesWrittenOrErr: number) => void, ctx: Ctx): void;
      /** Sent without credentials: ctx is { uid: 0, gid: 0, pid: 0 }. */
      release?(path: string | null, fd: number, cb: DoneCallback, ctx: Ctx): void;
      releasedir?(path: string | null, fd: number, cb: DoneCallback, ctx: Ctx): void;
      /** mode = S_IFREG | permissions, umask already applied by the kernel. Owner = ctx.uid/ctx.gid
       *  (plus setgid-directory inheritance, which is the filesystem's job). */
      /** Patched (v4): answering with the new file's stat as well spares the fgetattr libfuse sends
       *  right after the create. */
      create?(path: string, mode: number, cb: (err: Result, fd?: number, stat?: Stat) => void, ctx: Ctx): void;
      unlink?(path: string, cb: DoneCallback, ctx: Ctx): void;
      /** No rename flags (RENAME_NOREPLACE/EXCHANGE are not passed by libfuse 2.9). */
      rename?(src: string, dest: string, cb: DoneCallback, ctx: Ctx): void;
      /** link(existingPath, newPath) */
      link?(src: string, dest: string, cb: DoneCallback, ctx: Ctx): void;
      /** symlink(target, linkPath): target is the link's content, linkPath the new path. */
      symlink?(target: string, path: string, cb: DoneCallback, ctx: Ctx): void;
      /** mode = permission bits only (no S_IFDIR), umask already applied. */
      mkdir?(path: string, mode: number, cb: DoneCallback, ctx: Ctx): void;
      rmdir?(path: string, cb: DoneCallback, ctx: Ctx): void;
    }
  }

  class Fuse {
    constructor(mountpoint: string, ops: Fuse.Operations, opts?: Fuse.Options);

    /** Absolute mountpoint. */
    readonly mnt: string;
    readonly opts: Fuse.Options;
    /** The handlers as dispatched (patched: wrappers appending the context; prototype = your ops). */
    readonly ops: Fuse.Operations;

    /** Mounts; cb runs once the kernel's init arrived (or with the mount error). */
    mount(cb: (err: Error | null) => void): void;
    /** fusermount -uz (lazy), then releases the native handle so the process can exit. */
    unmount(cb: (err: Error | null) => void): void;
    /** Fuse[code.toUpperCase()] or -1: fuse.errno('ENOENT') === -2. */
    errno(code: string): number;
    /** Patched: the caller of the operation being dispatched, only while a handler runs
     *  synchronously; null otherwise. Prefer the handler's last argument. */
    context(): Fuse.FuseContext | null;
    /** Patched (v3): makes the kernel drop the attributes it caches of inode `ino` (st_ino) under
     *  any name. Call it before answering an operation that changes them behind the kernel's back. */
    forgetCachedAttrs(ino: number): void;

    /** `fusermount -uz <mnt>` (lazy unmount). */
    static unmount(mountpoint: string, cb: (err: Error | null) => void): void;
    /** Whether fuse-shared-library's helper scripts are installed (true on Linux here). */
    static isConfigured(cb: (err: Error | null, configured?: boolean) => void): void;
    static configure(cb: (err: Error | null) => void): void;
    static unconfigure(cb: (err: Error | null) => void): void;
    static beforeMount(cb: (err: Error | null) => void): void;
    static beforeUnmount(cb: (err: Error | null) => void): void;

    /** Patched: the version of the Strata patch that is loaded (undefined without it). */
    static readonly strataContextPatch: number | undefined;
    /** Patched (v5): while true, getxattr(name) is answered ENODATA on the FUSE thread without
     *  calling the handler, for "security.capability" and "security.selinux" (other names are
     *  ignored). One flag per name for the whole process. */
    static setAbsentXattr(name: string, flag: boolean): void;

    // Negative Linux errno values (the same numbers on every platform).
    static readonly EPERM: -1;
    static readonly ENOENT: -2;
    static readonly ESRCH: -3;
    static readonly EINTR: -4;
    static readonly EIO: -5;
    static readonly ENXIO: -6;
    static readonly E2BIG: -7;
    static readonly ENOEXEC: -8;
    static readonly EBADF: -9;
    static readonly ECHILD: -10;
    static readonly EAGAIN: -11;
    static readonly ENOMEM: -12;
    static readonly EACCES: -13;
    static readonly EFAULT: -14;
    static readonly ENOTBLK: -15;
    static readonly EBUSY: -16;
    static readonly EEXIST: -17;
    static readonly EXDEV: -18;
    static readonly ENODEV: -19;
    static readonly ENOTDIR: -20;
    static readonly EISDIR: -21;
    static readonly EINVAL: -22;
    static readonly ENFILE: -23;
    static readonly EMFILE: -24;
    static readonly ENOTTY: -25;
    static readonly ETXTBSY: -26;
    static readonly EFBIG: -27;
    static readonly ENOSPC: -28;
    static readonly ESPIPE: -29;
    static readonly EROFS: -30;
    static readonly EMLINK: -31;
    static readonly EPIPE: -32;
    static readonly EDOM: -33;
    static readonly ERANGE: -34;
    static readonly EDEADLK: -35;
    static readonly ENAMETOOLONG: -36;
    static readonly ENOLCK: -37;
    static readonly ENOSYS: -38;
    static readonly ENOTEMPTY: -39;
    static readonly ELOOP: -40;
    static readonly EWOULDBLOCK: -11;
    static readonly ENOMSG: -42;
    static readonly EIDRM: -43;
    static readonly ECHRNG: -44;
    static readonly EL2NSYNC: -45;
    static readonly EL3HLT: -46;
    static readonly EL3RST: -47;
    static readonly ELNRNG: -48;
    static readonly EUNATCH: -49;
    static readonly ENOCSI: -50;
    static readonly EL2HLT: -51;
    static readonly EBADE: -52;
    static readonly EBADR: -53;
    static readonly EXFULL: -54;
    static readonly ENOANO: -55;
    static readonly EBADRQC: -56;
    static readonly EBADSLT: -57;
    static readonly EDEADLOCK: -35;
    static readonly EBFONT: -59;
    static readonly ENOSTR: -60;
    static readonly ENODATA: -61;
    static readonly ETIME: -62;
    static readonly ENOSR: -63;
    static readonly ENONET: -64;
    static readonly ENOPKG: -65;
    static readonly EREMOTE: -66;
    static readonly ENOLINK: -67;
    static readonly EADV: -68;
    static readonly ESRMNT: -69;
    static readonly ECOMM: -70;
    static readonly EPROTO: -71;
    static readonly EMULTIHOP: -72;
    static readonly EDOTDOT: -73;
    static readonly EBADMSG: -74;
    static readonly EOVERFLOW: -75;
    static readonly ENOTUNIQ: -76;
    static readonly EBADFD: -77;
    static readonly EREMCHG: -78;
    static readonly ELIBACC: -79;
    static readonly ELIBBAD: -80;
    static readonly ELIBSCN: -81;
    static readonly ELIBMAX: -82;
    static readonly ELIBEXEC: -83;
    static readonly EILSEQ: -84;
    static readonly ERESTART: -85;
    static readonly ESTRPIPE: -86;
    static readonly EUSERS: -87;
    static readonly ENOTSOCK: -88;
    static readonly EDESTADDRREQ: -89;
    static readonly EMSGSIZE: -90;
    static readonly EPROTOTYPE: -91;
    static readonly ENOPROTOOPT: -92;
    static readonly EPROTONOSUPPORT: -93;
    static readonly ESOCKTNOSUPPORT: -94;
    static readonly EOPNOTSUPP: -95;
    static readonly EPFNOSUPPORT: -96;
    static readonly EAFNOSUPPORT: -97;
    static readonly EADDRINUSE: -98;
    static readonly EADDRNOTAVAIL: -99;
    static readonly ENETDOWN: -100;
    static readonly ENETUNREACH: -101;
    static readonly ENETRESET: -102;
    static readonly ECONNABORTED: -103;
    static readonly ECONNRESET: -104;
    static readonly ENOBUFS: -105;
    static readonly EISCONN: -106;
    static readonly ENOTCONN: -107;
    static readonly ESHUTDOWN: -108;
    static readonly ETOOMANYREFS: -109;
    static readonly ETIMEDOUT: -110;
    static readonly ECONNREFUSED: -111;
    static readonly EHOSTDOWN: -112;
    static readonly EHOSTUNREACH: -113;
    static readonly EALREADY: -114;
    static readonly EINPROGRESS: -115;
    static readonly ESTALE: -116;
    static readonly EUCLEAN: -117;
    static readonly ENOTNAM: -118;
    static readonly ENAVAIL: -119;
    static readonly EISNAM: -120;
    static readonly EREMOTEIO: -121;
    static readonly EDQUOT: -122;
    static readonly ENOMEDIUM: -123;
    static readonly EMEDIUMTYPE: -124;
  }

  // CommonJS module.exports = Fuse. In this ESM project (package.json "type": "module"),
  // `import Fuse from 'fuse-native'` yields module.exports, so a default export is the right shape
  // (`export =` is rejected in ESM-format declaration files, TS1203).
  export default Fuse;
}
