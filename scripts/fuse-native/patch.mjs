#!/usr/bin/env node
// Patches node_modules/fuse-native (2.2.6) so operation handlers learn who called them, and
// rebuilds its native addon from source with node-gyp.
//
// What the patch changes (marker: "strata-fuse-context-patch v7"):
//   fuse-native.c
//     - On the FUSE thread, before handing an operation to JS, records fuse_get_context()'s
//       uid, gid, pid and umask in the operation's thread-locals struct.
//     - New export fuse_native_get_context(locals) -> { uid, gid, pid, umask }, and the
//       constant strata_context_patch = 1 (lets callers check that the patched addon is loaded).
//     - Fixes utimens: upstream passes atime twice, so handlers received mtime === atime.
//     - When fuse_new() fails after the kernel mount succeeded (e.g. an unknown -o option), unmounts
//       before throwing; upstream left a mount with no daemon behind.
//     - (v2) Sets flag_nullpath_ok and hands JS a null path when libfuse has none (a handle whose
//       name was unlinked/renamed over, e.g. with -o hard_remove); upstream libfuse then answered
//       ENOENT for read/write/ftruncate/fsync/flush on such handles.
//     - (v2) Sets flag_utime_omit_ok: UTIME_OMIT is passed to JS as UINT64_MAX (low = high =
//       0xffffffff), UTIME_NOW as the current time (clock_gettime). Without it libfuse 2.9 drops
//       single-time updates (touch -m, touch -a, tar's time restores).
//     - (v3) Per-reply attribute timeouts: defines fuse_reply_attr/entry/create, which take the
//       place of libfuse's own for libfuse's calls (PLT; this addon comes first in the lookup scope
//       of the dlopen that loads both) and raise the timeout to what the JS getattr of the same
//       request asked for (stat array slot 18, seconds). Non-directories get it only in lookup and
//       create replies, which name the kernel inode: those are recorded, and the new export
//       fuse_native_forget_attrs(thread, ino) tells the kernel to drop them (a link changes the
//       source's count and ctime, and Linux no longer drops the source's cached attributes itself).
//     - (v4) A create handler may answer (err, fd, stat): the create's signal keeps the stat in the
//       thread's locals, and strata_fgetattr answers the fgetattr libfuse sends right after the
//       create (same request, same thread, same handle) with it instead of calling JS.
//     - (v4) getxattr goes through strata_getxattr, which answers "security.capability" with ENODATA
//       on the FUSE thread while the flag set by the new export fuse_native_set_no_capabilities(flag)
//       is on: the kernel asks for it before every write, and JS knows when no inode can have it.
//     - (v5) The same for "security.selinux", which `ls -l` asks of every entry: one flag per name,
//       set by fuse_native_set_absent_xattr(name, flag) (replaces fuse_native_set_no_capabilities).
//     - (v6) fuse_native_mount takes max_pages: above 32, the device is served through a channel of
//       our own that receives into max_pages-page buffers and adds FUSE_MAX_PAGES and max_pages to
//       the INIT reply, so the kernel sends reads and writes of up to that size (libfuse 2.9 alone
//       speaks protocol 7.12 and reads the device into 132 KiB buffers: 128 KiB requests at most).
//     - (v7) chmod, chown and utimens handlers may answer (err, stat): the signal keeps the stat in the
//       thread's locals, and strata_getattr answers the getattr libfuse's setattr sends right after
//       them (same request, same thread, same path string) with it instead of calling JS.
//     - (v8) The wide channel notes the opcode and nodeid of the request each FUSE thread serves, so
//       a getattr reply names its nodeid: non-directories then get the timeout their getattr asked
//       for there too, recorded like a lookup's. And its INIT reply turns on FUSE_AUTO_INVAL_DATA
//       when the kernel offers it (libfuse 2.9 refuses the option): a kernel inode drops its cached
//       pages when fresh attributes show another size or mtime. Under libfuse's path API each name
//       of a file is its own kernel inode, so this is what makes a descriptor opened through one
//       hard link see a write made through another. Without the first part, every read() would
//       ask for the attributes of a file (cached 0 s from getattr replies).
//   index.js
//     - Every user handler gets one extra, final argument after its callback: the caller's
//       context { uid, gid, pid, umask } for that very call. fuse.context() returns the same
//       object while the handler runs synchronously, and null otherwise.
//     - Fuse.strataContextPatch === 1; loading throws if the native addon is not the patched one.
//     - A callback given null/undefined means success (0) and an Error means its negative errno or
//       EIO; upstream threw "Expected number" and never answered the kernel (the caller hung).
//     - getxattr/listxattr answer ERANGE when the kernel's buffer is too small (upstream: EIO, or a
//       RangeError that kills the process for listxattr).
//     - (v2) fgetattr calls ops.fgetattr(path, fd, cb) (upstream called ops.getattr(path, cb) and
//       ignored the handle); path may be null for any handle op (see above).
//     - (v2) utimens hands undefined for an omitted atime/mtime.
//     - (v3) stat.attrTimeout (seconds) goes to the addon with the other stat fields, and
//       fuse.forgetCachedAttrs(ino) calls fuse_native_forget_attrs.
//     - (v4) Fuse.setNoCapabilities(flag) sets the process-wide flag of strata_getxattr; create's
//       callback takes an optional stat after the handle.
//     - (v5) Fuse.setAbsentXattr(name, flag) takes the place of Fuse.setNoCapabilities(flag).
//     - (v6) new Fuse(mnt, ops, { maxPages }) asks for requests of up to maxPages pages (give -o
//       max_write to match; without it libfuse offers the whole buffer).
//     - (v7) chmod, chown and utimens callbacks take an optional stat after the error.
//
// Usage: node scripts/fuse-native/patch.mjs [--check] [--rebuild]
//   --check    report whether fuse-native is patched and built; change nothing (exit 1 if not)
//   --rebuild  rebuild the addon even if it looks up to date
// Idempotent: a second run finds the markers and the patched addon, and does nothing.
// Upgrades: a tree carrying an older version of this patch (v1) is first restored to the pristine
// sources by reversing that version's edits exactly (the result must hash to PRISTINE, else the
// script fails and asks for a reinstall), then patched afresh.

import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nodeGypRebuildArgs } from '../node-gyp.mjs';

const PATCH_VERSION = 8;
const MARKER_PREFIX = 'strata-fuse-context-patch';
const markerFor = (v) => `${MARKER_PREFIX} v${v}`;
const MARKER = markerFor(PATCH_VERSION);
// Older versions this script can reverse (their edits are cEdits(v)/jsEdits(v) below).
const KNOWN_OLD_VERSIONS = [1, 2, 3, 4, 5, 6, 7];
const EXPECTED_VERSION = '2.2.6';
// sha256 of the pristine fuse-native 2.2.6 files from the npm tarball.
const PRISTINE = {
  'fuse-native.c': 'e20f3726f19bc22613377b6b2e1516d8aacec09eca2ae79398cae612db7da7e8',
  'index.js': '9bf5f371ec9977340548a4ad0db1a9bf1a2c16c436340ef7e1594ab21da27896',
};

const args = new Set(process.argv.slice(2));
const CHECK_ONLY = args.has('--check');
const FORCE_REBUILD = args.has('--rebuild');
for (const a of args) {
  if (a !== '--check' && a !== '--rebuild') fail(`unknown argument ${a}`);
}

const t0 = Date.now();
const log = (msg) => console.log(`[fuse-native patch] ${msg}`);
function fail(msg) {
  console.error(`[fuse-native patch] ERROR: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The edits, as functions of the patch version (so an older version's edits can be reversed).
// Each anchor must occur exactly once in the file being patched, unless the edit gives `count`
// (then every occurrence is replaced and there must be exactly that many). `since` is the first
// patch version that has the edit. Edits are applied in order; reversal undoes them in reverse.

const cEdits = (V) => [
  {
    what: 'marker',
    anchor: '#define FUSE_USE_VERSION 29\n',
    replace: `/* ${markerFor(V)}: see scripts/fuse-native/patch.mjs in the Strata repository */\n#define FUSE_USE_VERSION 29\n`,
  },
  {
    what: 'caller fields in fuse_thread_locals_t',
    anchor: '  uv_sem_t sem;\n  uv_async_t async;\n\n} fuse_thread_locals_t;',
    replace:
      '  uv_sem_t sem;\n  uv_async_t async;\n\n' +
      '  // strata-fuse-context-patch: who issued the request being dispatched\n' +
      '  uint32_t caller_uid;\n  uint32_t caller_gid;\n  uint32_t caller_pid;\n  uint32_t caller_umask;\n\n' +
      '} fuse_thread_locals_t;',
  },
  {
    what: 'fuse_native_capture_context()',
    anchor: 'static fuse_thread_locals_t* get_thread_locals();\n',
    replace:
      'static fuse_thread_locals_t* get_thread_locals();\n\n' +
      '// strata-fuse-context-patch: must run on the FUSE thread serving the request.\n' +
      'static void fuse_native_capture_context (fuse_thread_locals_t *l) {\n' +
      '  struct fuse_context *fctx = fuse_get_context();\n' +
      '  l->caller_uid = (uint32_t) fctx->uid;\n' +
      '  l->caller_gid = (uint32_t) fctx->gid;\n' +
      '  l->caller_pid = (uint32_t) fctx->pid;\n' +
      '  l->caller_umask = (uint32_t) fctx->umask;\n' +
      '}\n',
  },
  {
    what: 'capture in FUSE_NATIVE_HANDLER (every op but init)',
    anchor: '  l->op_fn = fuse_native_dispatch_##name;\\\n',
    replace: '  l->op_fn = fuse_native_dispatch_##name;\\\n  fuse_native_capture_context(l);\\\n',
  },
  {
    what: 'capture in fuse_native_init',
    anchor: '  l->op_fn = fuse_native_dispatch_init;\n',
    replace: '  l->op_fn = fuse_native_dispatch_init;\n  fuse_native_capture_context(l);\n',
  },
  {
    what: 'utimens passes mtime (upstream passed atime twice)',
    anchor: '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n',
    replace: '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n',
  },
  {
    what: 'unmount again when fuse_new fails (e.g. an unknown -o option), as libfuse\'s fuse_setup does',
    anchor: '  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);\n',
    replace:
      '  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);\n' +
      '  if (fuse == NULL) {\n' +
      '    // strata-fuse-context-patch: upstream left the kernel mount behind with no daemon serving it\n' +
      '    fuse_unmount(mnt, ch);\n' +
      '    napi_throw_error(env, "fuse failed", "fuse failed");\n' +
      '    return NULL;\n' +
      '  }\n',
  },
  {
    what: 'fuse_native_get_context()',
    anchor: 'NAPI_INIT() {\n',
    replace:
      '// strata-fuse-context-patch\n' +
      `static const uint32_t strata_context_patch = ${V};\n\n` +
      'NAPI_METHOD(fuse_native_get_context) {\n' +
      '  NAPI_ARGV(1)\n' +
      '  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);\n' +
      '  napi_value obj;\n' +
      '  napi_value v;\n' +
      '  NAPI_STATUS_THROWS(napi_create_object(env, &obj))\n' +
      '  NAPI_STATUS_THROWS(napi_create_uint32(env, l->caller_uid, &v))\n' +
      '  NAPI_STATUS_THROWS(napi_set_named_property(env, obj, "uid", v))\n' +
      '  NAPI_STATUS_THROWS(napi_create_uint32(env, l->caller_gid, &v))\n' +
      '  NAPI_STATUS_THROWS(napi_set_named_property(env, obj, "gid", v))\n' +
      '  NAPI_STATUS_THROWS(napi_create_uint32(env, l->caller_pid, &v))\n' +
      '  NAPI_STATUS_THROWS(napi_set_named_property(env, obj, "pid", v))\n' +
      '  NAPI_STATUS_THROWS(napi_create_uint32(env, l->caller_umask, &v))\n' +
      '  NAPI_STATUS_THROWS(napi_set_named_property(env, obj, "umask", v))\n' +
      '  return obj;\n' +
      '}\n\n' +
      'NAPI_INIT() {\n',
  },
  {
    what: 'exports',
    anchor: '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n',
    replace:
      '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n' +
      '  NAPI_EXPORT_FUNCTION(fuse_native_get_context)\n' +
      '  NAPI_EXPORT_UINT32(strata_context_patch)\n',
  },
  {
    since: 2,
    what: 'null path for handles whose name is gone (flag_nullpath_ok)',
    anchor: '  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n',
    count: 34,
    replace:
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); ' +
      'else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n',
  },
  {
    since: 2,
    what: 'utimens_ms(): UTIME_OMIT -> UINT64_MAX, UTIME_NOW -> now',
    anchor: 'static void populate_stat (uint32_t *ints, struct stat* stat) {\n',
    replace:
      '// strata-fuse-context-patch: UTIME_OMIT is sent as UINT64_MAX (JS sees undefined), UTIME_NOW as now\n' +
      'static uint64_t utimens_ms (const struct timespec* ts) {\n' +
      '  if (ts->tv_nsec == UTIME_OMIT) return UINT64_MAX;\n' +
      '  if (ts->tv_nsec == UTIME_NOW) {\n' +
      '    struct timespec now;\n' +
      '    clock_gettime(CLOCK_REALTIME, &now);\n' +
      '    return timespec_to_uint64(&now);\n' +
      '  }\n' +
      '  return timespec_to_uint64(ts);\n' +
      '}\n\n' +
      'static void populate_stat (uint32_t *ints, struct stat* stat) {\n',
  },
  {
    since: 2,
    what: 'utimens uses utimens_ms()',
    anchor: '  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n',
    replace: '  l->atime = utimens_ms(&tv[0]);\n  l->mtime = utimens_ms(&tv[1]);\n',
  },
  {
    since: 2,
    what: 'flag_nullpath_ok and flag_utime_omit_ok',
    anchor: '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
    replace:
      '  // strata-fuse-context-patch: null path for unlinked handles; UTIME_OMIT/UTIME_NOW passed through\n' +
      '  ops.flag_nullpath_ok = 1;\n' +
      '  ops.flag_utime_omit_ok = 1;\n' +
      '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
  },
  {
    since: 3,
    what: '_GNU_SOURCE for dlsym(RTLD_NEXT)',
    anchor: '#define FUSE_USE_VERSION 29\n',
    replace: '#define _GNU_SOURCE // strata-fuse-context-patch v3: dlsym(RTLD_NEXT)\n#define FUSE_USE_VERSION 29\n',
  },
  {
    since: 3,
    what: 'dlfcn.h',
    anchor: '#include <pthread.h>\n',
    replace: '#include <pthread.h>\n#include <dlfcn.h> // strata-fuse-context-patch v3\n',
  },
  {
    since: 3,
    what: 'attr_timeout in fuse_thread_locals_t',
    anchor: '  uint32_t caller_umask;\n',
    replace:
      '  uint32_t caller_umask;\n' +
      '  // strata-fuse-context-patch v3: seconds the kernel may cache the attributes the last\n' +
      '  // getattr/fgetattr of this request returned (0: libfuse\'s configured attr_timeout)\n' +
      '  uint32_t attr_timeout;\n' +
      '  // the forget epoch when the operation was handed to JS (see strata_cached_attr_t)\n' +
      '  uint64_t attr_epoch;\n',
  },
  {
    since: 3,
    what: 'each operation starts with no attribute timeout asked for, in the current forget epoch',
    anchor: '  fuse_native_capture_context(l);\\\n',
    replace:
      '  fuse_native_capture_context(l);\\\n' +
      '  l->attr_timeout = 0;\\\n' +
      '  l->attr_epoch = __atomic_load_n(&strata_forget_epoch, __ATOMIC_ACQUIRE);\\\n',
  },
  {
    since: 3,
    what: 'getattr and fgetattr take the timeout the handler asked for (stat array slot 18)',
    anchor: '  populate_stat(ints, l->stat);\n',
    count: 2,
    replace: '  populate_stat(ints, l->stat);\n  l->attr_timeout = ints[18]; // strata-fuse-context-patch v3\n',
  },
  {
    since: 3,
    what: 'fuse_reply_attr/entry/create with per-reply attribute timeouts; cached file attributes recorded for links',
    anchor: '// Helpers\n// TODO: Extract into a separate file.\n',
    replace:
      '// strata-fuse-context-patch v3: per-reply attribute timeouts.\n' +
      '// libfuse 2.9\'s path API answers every lookup, getattr and create with one configured attr_timeout,\n' +
      '// but only the JS handler knows whether an inode\'s attributes may be cached. libfuse calls\n' +
      '// fuse_reply_attr/entry/create through its PLT, and this addon comes before libfuse in the lookup\n' +
      '// scope of the dlopen that loaded both, so the definitions below take the place of libfuse\'s: they\n' +
      '// raise the timeout to what the JS getattr of the same request asked for (read once), then call\n' +
      '// libfuse\'s own. Where the interposition does not happen, the configured timeout stays in force.\n' +
      '//\n' +
      '// Under the path API each name of a file is its own kernel inode (nodeid). A file\'s attributes are\n' +
      '// cached only in lookup and create replies, which name the nodeid: each is recorded by st_ino until\n' +
      '// its timeout ends, so that a link (which changes the source\'s count and ctime, and which Linux no\n' +
      '// longer reflects in the source\'s kernel inode) can drop them: fuse_native_forget_attrs(ino), called\n' +
      '// by the JS link handler before it answers. A caching reply is sent under strata_cached_lock, after\n' +
      '// checking that no forget came since its getattr started (strata_forget_epoch) and recording it; a\n' +
      '// forget bumps the epoch and takes the records under the same lock, then notifies. So a forget\n' +
      '// either comes first (the reply caches nothing) or finds the record of a reply the kernel already\n' +
      '// has (the notification then outdates it, even if the requester has not applied it yet:\n' +
      (V >= 8
        ? '// attr_version). A getattr reply names its nodeid through what the wide channel noted (v8, below);\n' +
          '// without that channel it caches only directories, which never have a second name.\n'
        : '// attr_version). getattr replies name no nodeid, so they cache only directories, which never have\n' +
          '// a second name.\n') +
      '\n' +
      'typedef struct strata_cached_attr {\n' +
      '  uint64_t ino;\n' +
      '  uint64_t nodeid;\n' +
      '  uint64_t until_ns;\n' +
      '  struct strata_cached_attr *next;\n' +
      '} strata_cached_attr_t;\n' +
      '\n' +
      '#define STRATA_CACHED_BUCKETS 4096\n' +
      'static strata_cached_attr_t *strata_cached[STRATA_CACHED_BUCKETS];\n' +
      'static pthread_mutex_t strata_cached_lock = PTHREAD_MUTEX_INITIALIZER;\n' +
      '// read with atomics; bumped only under strata_cached_lock (by the main thread, which also reads it for getattr)\n' +
      'static uint64_t strata_forget_epoch = 0;\n' +
      '\n' +
      'static uint64_t strata_now_ns () {\n' +
      '  struct timespec ts;\n' +
      '  clock_gettime(CLOCK_MONOTONIC, &ts);\n' +
      '  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;\n' +
      '}\n' +
      '\n' +
      '// Drops the expired records of `ino`\'s bucket and, when `taken` is not NULL, moves the live records\n' +
      '// of `ino` onto it; returns the bucket. The caller holds strata_cached_lock.\n' +
      'static strata_cached_attr_t **strata_sweep (uint64_t ino, uint64_t now, strata_cached_attr_t **taken) {\n' +
      '  strata_cached_attr_t **link = &strata_cached[ino % STRATA_CACHED_BUCKETS];\n' +
      '  while (*link != NULL) {\n' +
      '    strata_cached_attr_t *record = *link;\n' +
      '    if (record->until_ns < now) {\n' +
      '      *link = record->next;\n' +
      '      free(record);\n' +
      '    } else if (taken != NULL && record->ino == ino) {\n' +
      '      *link = record->next;\n' +
      '      record->next = *taken;\n' +
      '      *taken = record;\n' +
      '    } else {\n' +
      '      link = &record->next;\n' +
      '    }\n' +
      '  }\n' +
      '  return &strata_cached[ino % STRATA_CACHED_BUCKETS];\n' +
      '}\n' +
      '\n' +
      '// Records that the kernel may cache `ino`\'s attributes under `nodeid`; the caller holds strata_cached_lock.\n' +
      'static int strata_remember (uint64_t ino, uint64_t nodeid, double timeout) {\n' +
      '  uint64_t now = strata_now_ns();\n' +
      '  // a little past the kernel\'s own expiry: the requester applies the reply after this\n' +
      '  uint64_t until = now + (uint64_t) (timeout * 1e9) + 100000000ull;\n' +
      '  strata_cached_attr_t **bucket = strata_sweep(ino, now, NULL);\n' +
      '  strata_cached_attr_t *record = *bucket;\n' +
      '  while (record != NULL && !(record->ino == ino && record->nodeid == nodeid)) record = record->next;\n' +
      '  if (record == NULL) {\n' +
      '    record = malloc(sizeof(strata_cached_attr_t));\n' +
      '    if (record == NULL) return 0;\n' +
      '    record->ino = ino;\n' +
      '    record->nodeid = nodeid;\n' +
      '    record->next = *bucket;\n' +
      '    *bucket = record;\n' +
      '  }\n' +
      '  record->until_ns = until;\n' +
      '  return 1;\n' +
      '}\n' +
      '\n' +
      '// What this request\'s getattr asked for (read once; 0 if nothing), and the forget epoch it started in.\n' +
      'static double strata_take_asked (uint64_t *epoch) {\n' +
      '  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n' +
      '  if (l == NULL || l->attr_timeout == 0) return 0;\n' +
      '  double asked = (double) l->attr_timeout;\n' +
      '  l->attr_timeout = 0;\n' +
      '  *epoch = l->attr_epoch;\n' +
      '  return asked;\n' +
      '}\n' +
      '\n' +
      (V >= 8
        ? '// v8: the opcode and nodeid of the request this FUSE thread serves, noted by the wide channel\'s\n' +
          '// receive on this thread (0 without it), so that a getattr reply names its nodeid and can be\n' +
          '// recorded like a lookup\'s.\n' +
          '#define STRATA_FUSE_GETATTR 3\n' +
          'static __thread uint32_t strata_request_opcode;\n' +
          'static __thread uint64_t strata_request_nodeid;\n' +
          '\n' +
          '__attribute__((visibility("default"))) int fuse_reply_attr (fuse_req_t req, const struct stat *attr, double attr_timeout) {\n' +
          '  static int (*libfuse_reply_attr) (fuse_req_t, const struct stat *, double) = NULL;\n' +
          '  if (libfuse_reply_attr == NULL) libfuse_reply_attr = dlsym(RTLD_NEXT, "fuse_reply_attr");\n' +
          '  uint64_t epoch;\n' +
          '  double asked = strata_take_asked(&epoch);\n' +
          '  if (asked <= attr_timeout) return libfuse_reply_attr(req, attr, attr_timeout);\n' +
          '  if (S_ISDIR(attr->st_mode)) return libfuse_reply_attr(req, attr, asked);\n' +
          '  if (strata_request_opcode != STRATA_FUSE_GETATTR || strata_request_nodeid == 0) return libfuse_reply_attr(req, attr, attr_timeout);\n' +
          '  pthread_mutex_lock(&strata_cached_lock);\n' +
          '  double timeout = __atomic_load_n(&strata_forget_epoch, __ATOMIC_ACQUIRE) == epoch && strata_remember((uint64_t) attr->st_ino, strata_request_nodeid, asked) ? asked : attr_timeout;\n' +
          '  int res = libfuse_reply_attr(req, attr, timeout);\n' +
          '  pthread_mutex_unlock(&strata_cached_lock);\n' +
          '  return res;\n' +
          '}\n'
        : '__attribute__((visibility("default"))) int fuse_reply_attr (fuse_req_t req, const struct stat *attr, double attr_timeout) {\n' +
          '  static int (*libfuse_reply_attr) (fuse_req_t, const struct stat *, double) = NULL;\n' +
          '  if (libfuse_reply_attr == NULL) libfuse_reply_attr = dlsym(RTLD_NEXT, "fuse_reply_attr");\n' +
          '  uint64_t epoch;\n' +
          '  double asked = strata_take_asked(&epoch);\n' +
          '  return libfuse_reply_attr(req, attr, S_ISDIR(attr->st_mode) && asked > attr_timeout ? asked : attr_timeout);\n' +
          '}\n') +
      '\n' +
      '// Sends a lookup (fi NULL) or create reply with the timeout its getattr asked for, if it may.\n' +
      'static int strata_reply_entry (fuse_req_t req, const struct fuse_entry_param *e, const struct fuse_file_info *fi) {\n' +
      '  static int (*libfuse_reply_entry) (fuse_req_t, const struct fuse_entry_param *) = NULL;\n' +
      '  static int (*libfuse_reply_create) (fuse_req_t, const struct fuse_entry_param *, const struct fuse_file_info *) = NULL;\n' +
      '  if (libfuse_reply_entry == NULL) libfuse_reply_entry = dlsym(RTLD_NEXT, "fuse_reply_entry");\n' +
      '  if (libfuse_reply_create == NULL) libfuse_reply_create = dlsym(RTLD_NEXT, "fuse_reply_create");\n' +
      '  struct fuse_entry_param entry = *e;\n' +
      '  uint64_t epoch;\n' +
      '  double asked = strata_take_asked(&epoch);\n' +
      '  if (asked <= e->attr_timeout || e->ino == 0) {\n' +
      '    return fi == NULL ? libfuse_reply_entry(req, &entry) : libfuse_reply_create(req, &entry, fi);\n' +
      '  }\n' +
      '  if (S_ISDIR(e->attr.st_mode)) {\n' +
      '    entry.attr_timeout = asked;\n' +
      '    return fi == NULL ? libfuse_reply_entry(req, &entry) : libfuse_reply_create(req, &entry, fi);\n' +
      '  }\n' +
      '  pthread_mutex_lock(&strata_cached_lock);\n' +
      '  if (__atomic_load_n(&strata_forget_epoch, __ATOMIC_ACQUIRE) == epoch && strata_remember((uint64_t) e->attr.st_ino, (uint64_t) e->ino, asked)) entry.attr_timeout = asked;\n' +
      '  int res = fi == NULL ? libfuse_reply_entry(req, &entry) : libfuse_reply_create(req, &entry, fi);\n' +
      '  pthread_mutex_unlock(&strata_cached_lock);\n' +
      '  return res;\n' +
      '}\n' +
      '\n' +
      '__attribute__((visibility("default"))) int fuse_reply_entry (fuse_req_t req, const struct fuse_entry_param *e) {\n' +
      '  return strata_reply_entry(req, e, NULL);\n' +
      '}\n' +
      '\n' +
      '__attribute__((visibility("default"))) int fuse_reply_create (fuse_req_t req, const struct fuse_entry_param *e, const struct fuse_file_info *fi) {\n' +
      '  return strata_reply_entry(req, e, fi);\n' +
      '}\n' +
      '\n' +
      '// Helpers\n// TODO: Extract into a separate file.\n',
  },
  {
    since: 3,
    what: 'fuse_native_forget_attrs(thread, ino)',
    anchor: '// strata-fuse-context-patch\nstatic const uint32_t strata_context_patch',
    replace:
      '// strata-fuse-context-patch v3: drops what the kernel caches of inode `ino`\'s attributes under any name\n' +
      '// (see strata_remember); the JS link handler calls it before it answers.\n' +
      'NAPI_METHOD(fuse_native_forget_attrs) {\n' +
      '  NAPI_ARGV(2)\n' +
      '  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);\n' +
      '  int64_t ino;\n' +
      '  NAPI_STATUS_THROWS(napi_get_value_int64(env, argv[1], &ino))\n' +
      '  strata_cached_attr_t *taken = NULL;\n' +
      '  pthread_mutex_lock(&strata_cached_lock);\n' +
      '  __atomic_add_fetch(&strata_forget_epoch, 1, __ATOMIC_ACQ_REL);\n' +
      '  strata_sweep((uint64_t) ino, strata_now_ns(), &taken);\n' +
      '  pthread_mutex_unlock(&strata_cached_lock);\n' +
      '  while (taken != NULL) {\n' +
      '    strata_cached_attr_t *record = taken;\n' +
      '    taken = record->next;\n' +
      '    // offset -1: the attributes only, not the page cache\n' +
      '    if (ft->ch != NULL) fuse_lowlevel_notify_inval_inode(ft->ch, record->nodeid, -1, 0);\n' +
      '    free(record);\n' +
      '  }\n' +
      '  return NULL;\n' +
      '}\n\n' +
      '// strata-fuse-context-patch\nstatic const uint32_t strata_context_patch',
  },
  {
    since: 3,
    what: 'export fuse_native_forget_attrs',
    anchor: '  NAPI_EXPORT_FUNCTION(fuse_native_get_context)\n',
    replace: '  NAPI_EXPORT_FUNCTION(fuse_native_get_context)\n  NAPI_EXPORT_FUNCTION(fuse_native_forget_attrs)\n',
  },
  {
    since: 4,
    what: 'strata_getxattr(): security.capability answered on the FUSE thread while no inode has it',
    anchor: '#endif\n\nFUSE_METHOD(listxattr,',
    replace: V >= 5
      ? '#endif\n\n' +
        '// strata-fuse-context-patch v5: some attributes are asked of every file: security.capability by the\n' +
        '// kernel before every write (to drop file capabilities), security.selinux by `ls -l` for every\n' +
        '// entry; each is a round trip through JS. While JS says no inode of the volume has one of them\n' +
        '// (fuse_native_set_absent_xattr; one flag per name for the process), the FUSE thread answers\n' +
        '// ENODATA itself.\n' +
        '#include <errno.h>\n' +
        'static const char *strata_watched_xattrs[] = { "security.capability", "security.selinux" };\n' +
        '#define STRATA_WATCHED_XATTRS (sizeof(strata_watched_xattrs) / sizeof(strata_watched_xattrs[0]))\n' +
        'static int strata_absent_xattrs[STRATA_WATCHED_XATTRS];\n\n' +
        '#ifndef __APPLE__\n' +
        'static int strata_getxattr (const char *path, const char *name, char *value, size_t size) {\n' +
        '  for (size_t i = 0; i < STRATA_WATCHED_XATTRS; i++) {\n' +
        '    if (__atomic_load_n(&strata_absent_xattrs[i], __ATOMIC_ACQUIRE) && strcmp(name, strata_watched_xattrs[i]) == 0) return -ENODATA;\n' +
        '  }\n' +
        '  return fuse_native_getxattr(path, name, value, size);\n' +
        '}\n' +
        '#endif\n\n' +
        'FUSE_METHOD(listxattr,'
      : '#endif\n\n' +
        '// strata-fuse-context-patch v4: the kernel asks for security.capability before every write (to drop\n' +
        '// file capabilities), a round trip through JS each time. While JS says no inode of the volume has\n' +
        '// that attribute (fuse_native_set_no_capabilities; one flag for the process), the FUSE thread\n' +
        '// answers ENODATA itself.\n' +
        '#include <errno.h>\n' +
        'static int strata_no_capabilities = 0;\n\n' +
        '#ifndef __APPLE__\n' +
        'static int strata_getxattr (const char *path, const char *name, char *value, size_t size) {\n' +
        '  if (__atomic_load_n(&strata_no_capabilities, __ATOMIC_ACQUIRE) && strcmp(name, "security.capability") == 0) return -ENODATA;\n' +
        '  return fuse_native_getxattr(path, name, value, size);\n' +
        '}\n' +
        '#endif\n\n' +
        'FUSE_METHOD(listxattr,',
  },
  {
    since: 4,
    what: 'fuse_thread_locals_t: the attributes a create returned',
    anchor: '  uint64_t attr_epoch;\n',
    replace:
      '  uint64_t attr_epoch;\n' +
      '  // strata-fuse-context-patch v4: the attributes a create handler returned with its handle, which\n' +
      '  // libfuse asks for (fgetattr) right after the create, in the same request on the same thread\n' +
      '  int created_valid;\n' +
      '  uint64_t created_fh;\n' +
      '  uint32_t created_timeout;\n' +
      '  struct stat created_stat;\n',
  },
  {
    since: 4,
    what: 'each operation starts with no created attributes',
    anchor: '  l->attr_epoch = __atomic_load_n(&strata_forget_epoch, __ATOMIC_ACQUIRE);\\\n',
    replace: '  l->attr_epoch = __atomic_load_n(&strata_forget_epoch, __ATOMIC_ACQUIRE);\\\n  l->created_valid = 0;\\\n',
  },
  {
    since: 4,
    what: 'create takes a second signal argument',
    anchor: 'FUSE_METHOD(create, 2, 1, ',
    replace: 'FUSE_METHOD(create, 2, 2, ',
  },
  {
    since: 4,
    what: 'create keeps the attributes its handler returned (stat array after the handle)',
    anchor: '  napi_create_uint32(env, l->mode, &(argv[3]));\n}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n',
    replace:
      '  napi_create_uint32(env, l->mode, &(argv[3]));\n}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n' +
      '  // strata-fuse-context-patch v4\n' +
      '  napi_valuetype stat_type;\n' +
      '  if (res == 0 && napi_typeof(env, argv[3], &stat_type) == napi_ok && stat_type == napi_object) {\n' +
      '    NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 3)\n' +
      '    populate_stat(ints, &l->created_stat);\n' +
      '    l->created_timeout = ints[18];\n' +
      '    l->created_fh = l->info->fh;\n' +
      '    l->created_valid = 1;\n' +
      '  }\n',
  },
  {
    since: 4,
    what: 'strata_fgetattr(): the fgetattr right after a create is answered with what the create returned',
    anchor: '  return fuse_native_getxattr(path, name, value, size);\n}\n#endif\n',
    replace:
      '  return fuse_native_getxattr(path, name, value, size);\n}\n#endif\n\n' +
      '// strata-fuse-context-patch v4: libfuse\'s create asks for the new file\'s attributes (fgetattr) as soon\n' +
      '// as the create handler answers; when that handler returned them, they are used without a trip\n' +
      '// through JS, with the attribute timeout it asked for (see strata_take_asked).\n' +
      'static int strata_fgetattr (const char *path, struct stat *stat, struct fuse_file_info *info) {\n' +
      '  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n' +
      '  if (l != NULL && l->created_valid && info != NULL && info->fh == l->created_fh) {\n' +
      '    l->created_valid = 0;\n' +
      '    *stat = l->created_stat;\n' +
      '    l->attr_timeout = l->created_timeout;\n' +
      '    return 0;\n' +
      '  }\n' +
      '  return fuse_native_fgetattr(path, stat, info);\n' +
      '}\n',
  },
  {
    since: 4,
    what: 'fgetattr goes through strata_fgetattr',
    anchor: '  if (implemented[op_fgetattr]) ops.fgetattr = fuse_native_fgetattr;\n',
    replace: '  if (implemented[op_fgetattr]) ops.fgetattr = strata_fgetattr; // strata-fuse-context-patch v4\n',
  },
  {
    since: 4,
    what: 'getxattr goes through strata_getxattr',
    anchor: '  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;\n',
    replace:
      '#ifdef __APPLE__\n' +
      '  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;\n' +
      '#else\n' +
      '  if (implemented[op_getxattr]) ops.getxattr = strata_getxattr; // strata-fuse-context-patch v4\n' +
      '#endif\n',
  },
  {
    since: 4,
    what: V >= 5 ? 'fuse_native_set_absent_xattr(name, flag)' : 'fuse_native_set_no_capabilities(flag)',
    anchor: '// strata-fuse-context-patch\nstatic const uint32_t strata_context_patch',
    replace: V >= 5
      ? '// strata-fuse-context-patch v5: 1 while no inode has the attribute `name`, one of\n' +
        '// strata_watched_xattrs (see strata_getxattr); other names are ignored.\n' +
        'NAPI_METHOD(fuse_native_set_absent_xattr) {\n' +
        '  NAPI_ARGV(2)\n' +
        '  NAPI_ARGV_UTF8(name, 256, 0)\n' +
        '  NAPI_ARGV_UINT32(flag, 1)\n' +
        '  for (size_t i = 0; i < STRATA_WATCHED_XATTRS; i++) {\n' +
        '    if (strcmp(name, strata_watched_xattrs[i]) == 0) __atomic_store_n(&strata_absent_xattrs[i], flag ? 1 : 0, __ATOMIC_RELEASE);\n' +
        '  }\n' +
        '  return NULL;\n' +
        '}\n\n' +
        '// strata-fuse-context-patch\nstatic const uint32_t strata_context_patch'
      : '// strata-fuse-context-patch v4: 1 while no inode has security.capability (see strata_getxattr).\n' +
        'NAPI_METHOD(fuse_native_set_no_capabilities) {\n' +
        '  NAPI_ARGV(1)\n' +
        '  NAPI_ARGV_UINT32(flag, 0)\n' +
        '  __atomic_store_n(&strata_no_capabilities, flag ? 1 : 0, __ATOMIC_RELEASE);\n' +
        '  return NULL;\n' +
        '}\n\n' +
        '// strata-fuse-context-patch\nstatic const uint32_t strata_context_patch',
  },
  {
    since: 4,
    what: 'export the attribute flag setter',
    anchor: '  NAPI_EXPORT_FUNCTION(fuse_native_forget_attrs)\n',
    replace: `  NAPI_EXPORT_FUNCTION(fuse_native_forget_attrs)\n  NAPI_EXPORT_FUNCTION(${V >= 5 ? 'fuse_native_set_absent_xattr' : 'fuse_native_set_no_capabilities'})\n`,
  },
  {
    since: 6,
    what: 'the wide channel: requests of up to max_pages pages',
    anchor: 'NAPI_METHOD(fuse_native_mount) {\n',
    replace:
      '// strata-fuse-context-patch v6: libfuse 2.9 reads /dev/fuse into 132 KiB buffers and speaks protocol\n' +
      '// 7.12, which has no max_pages, so the kernel sends reads and writes of at most 128 KiB. This channel\n' +
      '// takes the place of libfuse\'s kernel channel (same device fd): it receives into buffers of\n' +
      '// max_pages pages (libfuse then offers max_write up to that size) and adds FUSE_MAX_PAGES and\n' +
      '// max_pages to the INIT reply, when the kernel offered them.\n' +
      (V >= 8 ? '// v8: and FUSE_AUTO_INVAL_DATA, when offered; it notes each request\'s opcode and nodeid for fuse_reply_attr.\n' : '') +
      '#define STRATA_FUSE_INIT 26\n' +
      '#define STRATA_FUSE_MAX_PAGES (1u << 22)\n' +
      (V >= 8 ? '#define STRATA_FUSE_AUTO_INVAL_DATA (1u << 12)\n' : '') +
      '#define STRATA_IN_HEADER_BYTES 40\n' +
      'struct strata_out_header { uint32_t len; int32_t error; uint64_t unique; };\n' +
      'struct strata_init_out { uint32_t major, minor, max_readahead, flags; uint16_t max_background, congestion_threshold; uint32_t max_write, time_gran; uint16_t max_pages, map_alignment; };\n' +
      (V >= 8 ? 'struct strata_wide_chan { uint32_t max_pages; uint64_t init_unique; uint32_t offered_flags; };\n\n' : 'struct strata_wide_chan { uint32_t max_pages; uint64_t init_unique; };\n\n') +
      'static int strata_wide_receive (struct fuse_chan **chp, char *buf, size_t size) {\n' +
      '  struct fuse_chan *ch = *chp;\n' +
      '  struct fuse_session *se = fuse_chan_session(ch);\n' +
      '  struct strata_wide_chan *wide = (struct strata_wide_chan *) fuse_chan_data(ch);\n' +
      '  ssize_t res;\n' +
      '  int err;\n' +
      'restart:\n' +
      '  res = read(fuse_chan_fd(ch), buf, size);\n' +
      '  err = errno;\n' +
      '  if (fuse_session_exited(se)) return 0;\n' +
      '  if (res == -1) {\n' +
      '    // as libfuse\'s kernel channel: ENOENT is an interrupted request, ENODEV the unmount\n' +
      '    if (err == ENOENT) goto restart;\n' +
      '    if (err == ENODEV) {\n' +
      '      fuse_session_exit(se);\n' +
      '      return 0;\n' +
      '    }\n' +
      '    if (err != EINTR && err != EAGAIN) perror("fuse: reading device");\n' +
      '    return -err;\n' +
      '  }\n' +
      '  if ((size_t) res < STRATA_IN_HEADER_BYTES) {\n' +
      '    fprintf(stderr, "short read on fuse device\\n");\n' +
      '    return -EIO;\n' +
      '  }\n' +
      '  uint32_t opcode;\n' +
      '  memcpy(&opcode, buf + 4, sizeof opcode);\n' +
      (V >= 8 ? '  strata_request_opcode = opcode;\n  memcpy(&strata_request_nodeid, buf + 16, sizeof strata_request_nodeid);\n' : '') +
      '  if (opcode == STRATA_FUSE_INIT && (size_t) res >= STRATA_IN_HEADER_BYTES + 16) {\n' +
      '    uint32_t flags;\n' +
      '    uint64_t unique;\n' +
      '    memcpy(&flags, buf + STRATA_IN_HEADER_BYTES + 12, sizeof flags);\n' +
      '    memcpy(&unique, buf + 8, sizeof unique);\n' +
      (V >= 8
        ? '    if (flags & STRATA_FUSE_MAX_PAGES) {\n' +
          '      wide->offered_flags = flags;\n' +
          '      __atomic_store_n(&wide->init_unique, unique, __ATOMIC_RELEASE);\n' +
          '    }\n'
        : '    if (flags & STRATA_FUSE_MAX_PAGES) __atomic_store_n(&wide->init_unique, unique, __ATOMIC_RELEASE);\n') +
      '  }\n' +
      '  return res;\n' +
      '}\n\n' +
      'static int strata_wide_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {\n' +
      '  if (!iov) return 0;\n' +
      '  struct strata_wide_chan *wide = (struct strata_wide_chan *) fuse_chan_data(ch);\n' +
      '  struct strata_out_header header;\n' +
      '  struct strata_init_out init;\n' +
      '  struct iovec widened[2];\n' +
      '  uint64_t init_unique = __atomic_load_n(&wide->init_unique, __ATOMIC_ACQUIRE);\n' +
      '  if (init_unique != 0 && count == 2 && iov[0].iov_len == sizeof header && iov[1].iov_len <= sizeof init) {\n' +
      '    memcpy(&header, iov[0].iov_base, sizeof header);\n' +
      '    if (header.unique == init_unique) {\n' +
      '      __atomic_store_n(&wide->init_unique, 0, __ATOMIC_RELEASE);\n' +
      '      if (header.error == 0) {\n' +
      '        // libfuse sends the 24-byte reply of protocol 7.22; max_pages lies just past it\n' +
      '        memset(&init, 0, sizeof init);\n' +
      '        memcpy(&init, iov[1].iov_base, iov[1].iov_len);\n' +
      (V >= 8
        ? '        init.flags |= STRATA_FUSE_MAX_PAGES | (wide->offered_flags & STRATA_FUSE_AUTO_INVAL_DATA);\n'
        : '        init.flags |= STRATA_FUSE_MAX_PAGES;\n') +
      '        init.max_pages = (uint16_t) wide->max_pages;\n' +
      '        header.len = sizeof header + sizeof init;\n' +
      '        widened[0].iov_base = &header;\n' +
      '        widened[0].iov_len = sizeof header;\n' +
      '        widened[1].iov_base = &init;\n' +
      '        widened[1].iov_len = sizeof init;\n' +
      '        iov = widened;\n' +
      '      }\n' +
      '    }\n' +
      '  }\n' +
      '  ssize_t res = writev(fuse_chan_fd(ch), iov, count);\n' +
      '  int err = errno;\n' +
      '  if (res == -1) {\n' +
      '    if (!fuse_session_exited(fuse_chan_session(ch)) && err != ENOENT) perror("fuse: writing device");\n' +
      '    return -err;\n' +
      '  }\n' +
      '  return 0;\n' +
      '}\n\n' +
      '// fuse_unmount takes the fd from the channel (fuse_chan_clearfd) and closes it before this runs\n' +
      'static void strata_wide_destroy (struct fuse_chan *ch) {\n' +
      '  int fd = fuse_chan_fd(ch);\n' +
      '  if (fd != -1) close(fd);\n' +
      '  free(fuse_chan_data(ch));\n' +
      '}\n\n' +
      'static struct fuse_chan_ops strata_wide_ops = { .receive = strata_wide_receive, .send = strata_wide_send, .destroy = strata_wide_destroy };\n\n' +
      'NAPI_METHOD(fuse_native_mount) {\n',
  },
  {
    since: 6,
    what: 'mount takes max_pages',
    anchor: '  NAPI_ARGV(7)\n',
    replace: '  NAPI_ARGV(8)\n  NAPI_ARGV_UINT32(max_pages, 7) // strata-fuse-context-patch v6\n',
  },
  {
    since: 6,
    what: 'mount serves the device through the wide channel when max_pages asks for more than 32 pages',
    anchor: '  struct fuse_chan *ch = fuse_mount(mnt, &args);\n\n  if (ch == NULL) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n',
    replace:
      '  struct fuse_chan *ch = fuse_mount(mnt, &args);\n\n  if (ch == NULL) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n' +
      '  // strata-fuse-context-patch v6: libfuse\'s channel is left as it is (its destroy would close the shared fd)\n' +
      '  if (max_pages > 32) {\n' +
      '    struct strata_wide_chan *wide = (struct strata_wide_chan *) calloc(1, sizeof(struct strata_wide_chan));\n' +
      '    struct fuse_chan *wide_ch = wide == NULL ? NULL : fuse_chan_new(&strata_wide_ops, fuse_chan_fd(ch), (size_t) max_pages * 4096 + 4096, wide);\n' +
      '    if (wide_ch == NULL) {\n' +
      '      free(wide);\n' +
      '      fuse_unmount(mnt, ch);\n' +
      '      napi_throw_error(env, "fuse failed", "fuse failed: out of memory");\n' +
      '      return NULL;\n' +
      '    }\n' +
      '    wide->max_pages = max_pages;\n' +
      '    ch = wide_ch;\n' +
      '  }\n',
  },
  {
    since: 7,
    what: 'fuse_thread_locals_t: the attributes a chmod, chown or utimens returned',
    anchor: '  struct stat created_stat;\n',
    replace:
      '  struct stat created_stat;\n' +
      '  // strata-fuse-context-patch v7: the attributes a chmod, chown or utimens handler returned, which\n' +
      '  // libfuse asks for (getattr, same path string) right after them, in the same request on the same thread\n' +
      '  int changed_valid;\n' +
      '  const char *changed_path;\n' +
      '  uint32_t changed_timeout;\n' +
      '  struct stat changed_stat;\n',
  },
  {
    since: 7,
    what: 'each operation starts with no changed attributes',
    anchor: '  l->created_valid = 0;\\\n',
    replace: '  l->created_valid = 0;\\\n  l->changed_valid = 0;\\\n',
  },
  {
    since: 7,
    what: 'utimens keeps the attributes its handler returned',
    anchor:
      'FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {\n' +
      '  l->path = path;\n  l->atime = utimens_ms(&tv[0]);\n  l->mtime = utimens_ms(&tv[1]);\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n})\n',
    replace:
      '// strata-fuse-context-patch v7: libfuse\'s setattr asks for the attributes (getattr, same path string,\n' +
      '// same thread) right after chmod, chown and utimens. When their handler returned them (a stat array\n' +
      '// after the result), strata_getattr answers with them instead of a trip through JS.\n' +
      '#define STRATA_KEEP_CHANGED(pos)\\\n' +
      '  napi_valuetype changed_type;\\\n' +
      '  if (res == 0 && napi_typeof(env, argv[pos], &changed_type) == napi_ok && changed_type == napi_object) {\\\n' +
      '    NAPI_ARGV_BUFFER_CAST(uint32_t*, changed_ints, pos)\\\n' +
      '    populate_stat(changed_ints, &l->changed_stat);\\\n' +
      '    l->changed_timeout = changed_ints[18];\\\n' +
      '    l->changed_path = l->path;\\\n' +
      '    l->changed_valid = 1;\\\n' +
      '  }\n\n' +
      'FUSE_METHOD(utimens, 5, 1, (const char *path, const struct timespec tv[2]), {\n' +
      '  l->path = path;\n  l->atime = utimens_ms(&tv[0]);\n  l->mtime = utimens_ms(&tv[1]);\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n}, {\n  STRATA_KEEP_CHANGED(2)\n})\n',
  },
  {
    since: 7,
    what: 'chown keeps the attributes its handler returned',
    anchor:
      'FUSE_METHOD_VOID(chown, 3, 0, (const char *path, uid_t uid, gid_t gid), {\n' +
      '  l->path = path;\n  l->uid = uid;\n  l->gid = gid;\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  napi_create_uint32(env, l->uid, &(argv[3]));\n  napi_create_uint32(env, l->gid, &(argv[4]));\n})\n',
    replace:
      'FUSE_METHOD(chown, 3, 1, (const char *path, uid_t uid, gid_t gid), {\n' +
      '  l->path = path;\n  l->uid = uid;\n  l->gid = gid;\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  napi_create_uint32(env, l->uid, &(argv[3]));\n  napi_create_uint32(env, l->gid, &(argv[4]));\n}, {\n  STRATA_KEEP_CHANGED(2)\n})\n',
  },
  {
    since: 7,
    what: 'chmod keeps the attributes its handler returned',
    anchor:
      'FUSE_METHOD_VOID(chmod, 2, 0, (const char *path, mode_t mode), {\n' +
      '  l->path = path;\n  l->mode = mode;\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  napi_create_uint32(env, l->mode, &(argv[3]));\n})\n',
    replace:
      'FUSE_METHOD(chmod, 2, 1, (const char *path, mode_t mode), {\n' +
      '  l->path = path;\n  l->mode = mode;\n}, {\n' +
      '  if (l->path) napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2])); else napi_get_null(env, &(argv[2])); // strata-fuse-context-patch\n' +
      '  napi_create_uint32(env, l->mode, &(argv[3]));\n}, {\n  STRATA_KEEP_CHANGED(2)\n})\n',
  },
  {
    since: 7,
    what: 'strata_getattr(): the getattr right after a chmod, chown or utimens is answered with what it returned',
    anchor: '  return fuse_native_fgetattr(path, stat, info);\n}\n',
    replace:
      '  return fuse_native_fgetattr(path, stat, info);\n}\n\n' +
      '// strata-fuse-context-patch v7: see STRATA_KEEP_CHANGED. What was kept is used or dropped by the\n' +
      '// first getattr or fgetattr after it, and any other operation the request makes in between (a second\n' +
      '// change that fails, say) starts by dropping it: a later request cannot see it, even if its path\n' +
      '// string lands at the same address.\n' +
      'static int strata_getattr (const char *path, struct stat *stat) {\n' +
      '  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n' +
      '  if (l != NULL && l->changed_valid) {\n' +
      '    l->changed_valid = 0;\n' +
      '    if (l->changed_path == path) {\n' +
      '      *stat = l->changed_stat;\n' +
      '      l->attr_timeout = l->changed_timeout;\n' +
      '      return 0;\n' +
      '    }\n' +
      '  }\n' +
      '  return fuse_native_getattr(path, stat);\n' +
      '}\n',
  },
  {
    since: 7,
    what: 'fgetattr drops the attributes a chmod, chown or utimens kept',
    anchor: 'static int strata_fgetattr (const char *path, struct stat *stat, struct fuse_file_info *info) {\n  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n',
    replace:
      'static int strata_fgetattr (const char *path, struct stat *stat, struct fuse_file_info *info) {\n  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n' +
      '  if (l != NULL) l->changed_valid = 0; // strata-fuse-context-patch v7: see strata_getattr\n',
  },
  {
    since: 7,
    what: 'getattr goes through strata_getattr',
    anchor: '  if (implemented[op_getattr]) ops.getattr = fuse_native_getattr;\n',
    replace: '  if (implemented[op_getattr]) ops.getattr = strata_getattr; // strata-fuse-context-patch v7\n',
  },
].filter((e) => (e.since ?? 1) <= V);

const jsEdits = (V) => [
  {
    what: 'marker and native addon check',
    anchor: "const binding = require('node-gyp-build')(__dirname)\n",
    replace:
      "const binding = require('node-gyp-build')(__dirname)\n\n" +
      `// ${markerFor(V)}: see scripts/fuse-native/patch.mjs in the Strata repository.\n` +
      `if (typeof binding.fuse_native_get_context !== 'function' || binding.strata_context_patch !== ${V}) {\n` +
      "  throw new Error('fuse-native: index.js carries the Strata caller-context patch but the loaded native addon (' +\n" +
      "    require('node-gyp-build').path(__dirname) + ') does not; run `node scripts/fuse-native/patch.mjs`')\n" +
      '}\n',
  },
  {
    what: 'constructor wraps ops',
    anchor: '    this.ops = ops\n',
    replace:
      '    this.ops = wrapOpsWithContext(this, ops) // strata-fuse-context-patch\n' +
      '    this._context = null // caller of the op being dispatched right now (strata-fuse-context-patch)\n',
  },
  {
    what: 'dispatch reads the caller context',
    anchor: '        return self[funcName].apply(self, [boundSignal, ...args])\n',
    replace:
      '        // strata-fuse-context-patch: the caller, captured on the FUSE thread for this request\n' +
      '        self._context = binding.fuse_native_get_context(nativeHandler)\n' +
      '        try {\n' +
      '          return self[funcName].apply(self, [boundSignal, ...args])\n' +
      '        } finally {\n' +
      '          self._context = null\n' +
      '        }\n',
  },
  {
    what: 'callback results that are not numbers',
    anchor: '      function signal (nativeHandler, err, ...args) {\n',
    replace:
      '      function signal (nativeHandler, err, ...args) {\n' +
      '        // strata-fuse-context-patch: the addon only takes a number; cb(null), cb() or cb(error) used to\n' +
      '        // throw "Expected number" on a later tick and leave the request unanswered (caller hangs).\n' +
      "        if (typeof err !== 'number') err = err ? (Number.isInteger(err.errno) && err.errno < 0 ? err.errno : Fuse.EIO) : 0\n",
  },
  {
    what: 'getxattr ERANGE',
    anchor: '        value.copy(valueBuf)\n',
    replace:
      '        // strata-fuse-context-patch: a value larger than a non-empty kernel buffer is ERANGE\n' +
      '        if (valueBuf.length && value.length > valueBuf.length) return signal(Fuse.ERANGE, valueBuf.buffer)\n' +
      '        value.copy(valueBuf)\n',
  },
  {
    what: 'listxattr ERANGE',
    anchor: '          return signal(size, listBuf.buffer)\n        }\n',
    replace:
      '          return signal(size, listBuf.buffer)\n        }\n\n' +
      '        // strata-fuse-context-patch: a list larger than the kernel buffer is ERANGE\n' +
      '        let needed = 0\n' +
      '        for (const name of list) needed += Buffer.byteLength(name) + 1\n' +
      '        if (needed > listBuf.length) return signal(Fuse.ERANGE, listBuf.buffer)\n',
  },
  {
    what: 'fuse.context()',
    anchor: '  errno (code) {\n',
    replace:
      '  // strata-fuse-context-patch: { uid, gid, pid, umask } of the caller of the operation being\n' +
      '  // dispatched; only valid synchronously inside a handler (null otherwise). Handlers also get\n' +
      '  // the same object as their last argument, after the callback, which stays valid across awaits.\n' +
      '  context () {\n' +
      '    return this._context\n' +
      '  }\n\n' +
      '  errno (code) {\n',
  },
  {
    what: 'Fuse.strataContextPatch',
    anchor: '\nmodule.exports = Fuse\n',
    replace: '\nFuse.strataContextPatch = binding.strata_context_patch // strata-fuse-context-patch\n\nmodule.exports = Fuse\n',
  },
  {
    what: 'wrapOpsWithContext()',
    anchor: 'function getStatfsArray (statfs) {\n',
    replace:
      '// strata-fuse-context-patch: calls each user handler with the caller context appended after its\n' +
      '// callback. The wrappers run synchronously inside the dispatch, while self._context is current.\n' +
      'function wrapOpsWithContext (self, ops) {\n' +
      '  if (!ops) return ops\n' +
      '  const wrapped = Object.create(ops)\n' +
      '  for (const name of OpcodesAndDefaults.keys()) {\n' +
      '    const fn = ops[name]\n' +
      "    if (typeof fn !== 'function') continue\n" +
      '    wrapped[name] = function () {\n' +
      '      const args = Array.prototype.slice.call(arguments)\n' +
      '      args.push(self._context)\n' +
      '      return fn.apply(ops, args)\n' +
      '    }\n' +
      '  }\n' +
      '  return wrapped\n' +
      '}\n\n' +
      'function getStatfsArray (statfs) {\n',
  },
  {
    since: 2,
    what: 'fgetattr calls ops.fgetattr(path, fd, cb)',
    anchor:
      '    this.ops.getattr(path, (err, stat) => {\n      if (err) return signal(err)\n      return signal(0, getStatArray(stat))\n    })\n  }\n\n  _op_access',
    replace:
      '    // strata-fuse-context-patch: upstream called ops.getattr(path) and ignored the handle\n' +
      '    this.ops.fgetattr(path, fd, (err, stat) => {\n      if (err) return signal(err)\n      return signal(0, getStatArray(stat))\n    })\n  }\n\n  _op_access',
  },
  {
    since: 2,
    what: 'utimens: omitted time -> undefined',
    anchor: '    const atime = getDoubleArg(atimeLow, atimeHigh)\n    const mtime = getDoubleArg(mtimeLow, mtimeHigh)\n',
    replace:
      '    // strata-fuse-context-patch: UTIME_OMIT arrives as low = high = 0xffffffff\n' +
      '    const omitted = (low, high) => low === 0xffffffff && high === 0xffffffff\n' +
      '    const atime = omitted(atimeLow, atimeHigh) ? undefined : getDoubleArg(atimeLow, atimeHigh)\n' +
      '    const mtime = omitted(mtimeLow, mtimeHigh) ? undefined : getDoubleArg(mtimeLow, mtimeHigh)\n',
  },
  {
    since: 3,
    what: 'stat array slot 18: attribute timeout (s) for this reply',
    anchor: '  const ints = new Uint32Array(18)\n',
    replace: '  const ints = new Uint32Array(19)\n',
  },
  {
    since: 3,
    what: 'stat.attrTimeout',
    anchor: '  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))\n',
    replace:
      '  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))\n' +
      '  // strata-fuse-context-patch v3: seconds the kernel may cache these attributes (0: the mount\'s attrTimeout)\n' +
      '  ints[18] = (stat && stat.attrTimeout) || 0\n',
  },
  {
    since: 3,
    what: 'fuse.forgetCachedAttrs(ino)',
    anchor: '  errno (code) {\n',
    replace:
      '  // strata-fuse-context-patch v3: makes the kernel drop the attributes it caches of inode `ino`\n' +
      '  // (st_ino) under any name; a link handler calls it before it answers.\n' +
      '  forgetCachedAttrs (ino) {\n' +
      '    if (this._thread) binding.fuse_native_forget_attrs(this._thread, ino >>> 0) // st_ino is sent as 32 bits\n' +
      '  }\n\n' +
      '  errno (code) {\n',
  },
  {
    since: 4,
    what: 'create passes on the attributes its handler returned',
    anchor: '    this.ops.create(path, mode, (err, fd) => {\n      return signal(err, fd)\n    })\n',
    replace:
      '    // strata-fuse-context-patch v4: a handler may answer (err, fd, stat); the addon then answers the\n' +
      '    // fgetattr that follows the create with that stat\n' +
      '    this.ops.create(path, mode, (err, fd, stat) => {\n      return signal(err, fd, stat ? getStatArray(stat) : undefined)\n    })\n',
  },
  {
    since: 4,
    what: V >= 5 ? 'Fuse.setAbsentXattr(name, flag)' : 'Fuse.setNoCapabilities(flag)',
    anchor: '\nFuse.strataContextPatch = binding.strata_context_patch // strata-fuse-context-patch\n',
    replace: V >= 5
      ? '\nFuse.strataContextPatch = binding.strata_context_patch // strata-fuse-context-patch\n\n' +
        '// strata-fuse-context-patch v5: while true, getxattr(name) is answered ENODATA on the FUSE thread\n' +
        '// without asking the handler, for "security.capability" and "security.selinux" (other names are\n' +
        '// ignored). One flag per name for the whole process.\n' +
        'Fuse.setAbsentXattr = function (name, flag) {\n' +
        '  binding.fuse_native_set_absent_xattr(name, flag ? 1 : 0)\n' +
        '}\n'
      : '\nFuse.strataContextPatch = binding.strata_context_patch // strata-fuse-context-patch\n\n' +
        '// strata-fuse-context-patch v4: while true, getxattr("security.capability") is answered ENODATA on\n' +
        '// the FUSE thread without asking the handler. One flag for the whole process.\n' +
        'Fuse.setNoCapabilities = function (flag) {\n' +
        '  binding.fuse_native_set_no_capabilities(flag ? 1 : 0)\n' +
        '}\n',
  },
  {
    since: 6,
    what: 'opts.maxPages: requests of up to that many pages',
    anchor: '      const opts = self._fuseOptions()\n      const implemented = self._getImplementedArray()\n',
    replace:
      '      const opts = self._fuseOptions()\n      const implemented = self._getImplementedArray()\n' +
      '      // strata-fuse-context-patch v6: reads and writes of up to maxPages pages (with -o max_write to\n' +
      '      // match) where the kernel allows it; 0 or up to 32 keeps libfuse 2.9\'s 128 KiB\n' +
      '      const maxPages = self.opts.maxPages || 0\n' +
      '      if (!Number.isInteger(maxPages) || maxPages < 0 || maxPages > 65535) return cb(new Error(\'maxPages must be an integer from 0 to 65535\'))\n',
  },
  {
    since: 6,
    what: 'mount passes maxPages to the addon',
    anchor: '            binding.fuse_native_mount(self.mnt, opts, self._thread, self, self._malloc, self._handlers, implemented)\n',
    replace: '            binding.fuse_native_mount(self.mnt, opts, self._thread, self, self._malloc, self._handlers, implemented, maxPages)\n',
  },
  {
    since: 7,
    what: 'chown, chmod and utimens pass on the attributes their handler returned',
    anchor: '  _op_chown (signal, path, uid, gid) {\n    this.ops.chown(path, uid, gid, err => {\n      return signal(err)\n    })\n  }\n\n  _op_chmod (signal, path, mode) {\n    this.ops.chmod(path, mode, err => {\n      return signal(err)\n    })\n  }\n',
    replace:
      '  // strata-fuse-context-patch v7: chown, chmod and utimens handlers may answer (err, stat); the addon\n' +
      '  // then answers the getattr libfuse sends right after them with that stat\n' +
      '  _op_chown (signal, path, uid, gid) {\n    this.ops.chown(path, uid, gid, (err, stat) => {\n      return signal(err, stat ? getStatArray(stat) : undefined)\n    })\n  }\n\n' +
      '  _op_chmod (signal, path, mode) {\n    this.ops.chmod(path, mode, (err, stat) => {\n      return signal(err, stat ? getStatArray(stat) : undefined)\n    })\n  }\n',
  },
  {
    since: 7,
    what: 'utimens passes on the attributes its handler returned',
    anchor: '    this.ops.utimens(path, atime, mtime, err => {\n      return signal(err)\n    })\n',
    replace: '    this.ops.utimens(path, atime, mtime, (err, stat) => {\n      return signal(err, stat ? getStatArray(stat) : undefined) // strata-fuse-context-patch v7\n    })\n',
  },
].filter((e) => (e.since ?? 1) <= V);

const C_EDITS = cEdits(PATCH_VERSION);
const JS_EDITS = jsEdits(PATCH_VERSION);
const EDITS_FOR = { 'fuse-native.c': cEdits, 'index.js': jsEdits };

// ---------------------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
let pkgJsonPath;
try {
  pkgJsonPath = require.resolve('fuse-native/package.json');
} catch {
  fail('cannot find node_modules/fuse-native (run npm ci first)');
}
const dir = path.dirname(pkgJsonPath);
const version = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8')).version;
log(`fuse-native ${version} at ${dir}`);
if (version !== EXPECTED_VERSION) {
  fail(`expected fuse-native ${EXPECTED_VERSION}, found ${version}; review the edits in this script before using it`);
}

const sha256 = (s) => createHash('sha256').update(s).digest('hex');

const count = (text, needle) => text.split(needle).length - 1;

function applyEdits(name, text, edits) {
  let out = text;
  for (const e of edits) {
    const n = count(out, e.anchor);
    const want = e.count ?? 1;
    if (n !== want) fail(`${name}: anchor for "${e.what}" found ${n} times (expected ${want})`);
    out = out.split(e.anchor).join(e.replace);
  }
  return out;
}

// Undoes version v's edits exactly; the result must be the pristine file.
function reverseEdits(name, text, v) {
  let out = text;
  for (const e of EDITS_FOR[name](v).reverse()) {
    const n = count(out, e.replace);
    const want = e.count ?? 1;
    if (n !== want) {
      fail(`${name}: cannot undo v${v} edit "${e.what}" (found ${n} times, expected ${want}); ` +
        `reinstall fuse-native (rm -rf ${dir} && npm ci)`);
    }
    out = out.split(e.replace).join(e.anchor);
  }
  if (sha256(out) !== PRISTINE[name]) {
    fail(`${name}: undoing the v${v} patch did not give the pristine file (sha256 ${sha256(out)}); ` +
      `reinstall fuse-native (rm -rf ${dir} && npm ci)`);
  }
  return out;
}

function planFile(name, edits) {
  const file = path.join(dir, name);
  let text = fs.readFileSync(file, 'utf8');
  if (text.includes(MARKER)) return { name, file, patched: true, text };
  let from = 'pristine';
  if (text.includes(MARKER_PREFIX)) {
    const m = new RegExp(`${MARKER_PREFIX} v(\\d+)`).exec(text);
    const v = m ? Number(m[1]) : NaN;
    if (!KNOWN_OLD_VERSIONS.includes(v)) {
      fail(`${name} carries an unknown version of the Strata patch (${m ? m[0] : 'no version'}); reinstall fuse-native (rm -rf ${dir} && npm ci)`);
    }
    text = reverseEdits(name, text, v);
    from = `v${v} (restored to pristine)`;
  } else if (sha256(text) !== PRISTINE[name]) {
    fail(`${name} is not the pristine fuse-native ${EXPECTED_VERSION} file (sha256 ${sha256(text)}); reinstall it (rm -rf ${dir} && npm ci)`);
  }
  const out = applyEdits(name, text, edits);
  if (!out.includes(MARKER)) fail(`${name}: marker missing after patching`);
  return { name, file, patched: false, from, text: out };
}

// Loads a .node file in a child process (keeps this process clean) and reports its patch version.
function addonPatchVersion(nodeFile) {
  if (!fs.existsSync(nodeFile)) return null;
  const r = spawnSync(
    process.execPath,
    ['-e', 'const b = require(process.argv[1]); process.stdout.write(String(typeof b.fuse_native_get_context === "function" ? b.strata_context_patch : 0))', nodeFile],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return null;
  return Number(r.stdout.trim()) || 0;
}

const cPlan = planFile('fuse-native.c', C_EDITS);
const jsPlan = planFile('index.js', JS_EDITS);
const installedAddon = path.join(dir, 'build', 'Release', 'fuse.node');
const addonOk = addonPatchVersion(installedAddon) === PATCH_VERSION;

const state = (p) => (p.patched ? 'patched' : p.from === 'pristine' ? 'not patched' : `patched ${p.from.split(' ')[0]}, needs upgrade to v${PATCH_VERSION}`);
log(`fuse-native.c: ${state(cPlan)}; index.js: ${state(jsPlan)}; ` +
  `build/Release/fuse.node: ${addonOk ? 'patched addon' : fs.existsSync(installedAddon) ? 'NOT the patched addon' : 'absent (prebuild in use)'}`);

if (CHECK_ONLY) {
  const ok = cPlan.patched && jsPlan.patched && addonOk;
  log(ok ? 'OK: patched and built' : 'NOT patched; run node scripts/fuse-native/patch.mjs');
  process.exit(ok ? 0 : 1);
}

if (cPlan.patched && jsPlan.patched && addonOk && !FORCE_REBUILD) {
  verify();
  log(`already patched; nothing to do (${Date.now() - t0} ms)`);
  process.exit(0);
}

// Build the addon in a staging copy inside the package (so binding.gyp's `node -e require(...)`
// resolves napi-macros and fuse-shared-library exactly as in place), then swap the result in.
// The package's own build/ is never deleted, so concurrent users never see a half-built state.
if (!cPlan.patched || !addonOk || FORCE_REBUILD) {
  const stage = path.join(dir, `.strata-build-${process.pid}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage);
  try {
    fs.copyFileSync(path.join(dir, 'binding.gyp'), path.join(stage, 'binding.gyp'));
    fs.writeFileSync(path.join(stage, 'fuse-native.c'), cPlan.text);
    let gypArgs;
    try {
      gypArgs = nodeGypRebuildArgs();
    } catch (err) {
      fail(err.message);
    }
    log(`building with ${gypArgs.join(' ')}`);
    const tb = Date.now();
    const r = spawnSync(process.execPath, gypArgs, { cwd: stage, encoding: 'utf8', env: { ...process.env } });
    if (r.status !== 0) {
      console.error(r.stdout);
      console.error(r.stderr);
      fail(`node-gyp rebuild failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    }
    const built = path.join(stage, 'build', 'Release', 'fuse.node');
    const v = addonPatchVersion(built);
    if (v !== PATCH_VERSION) fail(`built addon ${built} does not export the patch (got ${v})`);
    log(`built patched addon in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
    fs.mkdirSync(path.dirname(installedAddon), { recursive: true });
    const tmp = path.join(path.dirname(installedAddon), `.fuse.node.${process.pid}.tmp`);
    fs.copyFileSync(built, tmp);
    fs.renameSync(tmp, installedAddon);
    log(`installed ${path.relative(process.cwd(), installedAddon) || installedAddon}`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

for (const p of [cPlan, jsPlan]) {
  if (p.patched) continue;
  const tmp = `${p.file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, p.text);
  fs.renameSync(tmp, p.file);
  log(`patched ${p.name} from ${p.from} (${(p.name === 'index.js' ? JS_EDITS : C_EDITS).length} edits)`);
}

verify();
log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// ---------------------------------------------------------------------------------------------

// Loads fuse-native the way the application will (a fresh process) and checks the patched addon won.
function verify() {
  const code = [
    'const Fuse = require(process.argv[1]);',
    "const where = require(require.resolve('node-gyp-build', { paths: [process.argv[1]] })).path(process.argv[1]);",
    "if (Fuse.strataContextPatch !== " + PATCH_VERSION + " || typeof Fuse.prototype.context !== 'function') throw new Error('patch not active');",
    'process.stdout.write(where);',
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', code, dir], { encoding: 'utf8' });
  if (r.status !== 0) fail(`verification failed: ${r.stderr.trim()}`);
  log(`verified: require('fuse-native') loads ${r.stdout.trim()} (Fuse.strataContextPatch = ${PATCH_VERSION})`);
}
