// Block digests (XXH64, seed 0) and whole-object reads of the file backend, off the main thread.
//
// A FUSE mount answers every request on Node's main thread, so its CPU there bounds a cold read.
// Through fs/promises a 4 MiB block object costs that thread seven trips through the thread pool
// (open, fstat, four 1 MiB reads, close) and a digest in WebAssembly that first copies the block
// into the module's memory: about 0.8 s of a 1 GiB read's 1.8 s. Here one pool job opens, reads,
// digests and closes the object, and the main thread sees only its completion.
//
//   digest(bytes) -> digest                                   digest: "xxh64:<16 hex digits>"
//   digestAsync(bytes, cb(err, digest))
//   readObject(path, into, cb(err, bytesRead, size, digest))
//   syncPaths(files, folders, cb(err))      fdatasync each file, then fsync each folder
//   syncFileSystem(path, cb(err))           syncfs(2) of the file system `path` is on
// All but digest run in libuv's thread pool, digest on the calling thread: for a small input the
// trip costs more than the digest. Each trip also costs the main thread a wake-up of a pool thread
// (40-60 us on this kind of machine), so a sync of many paths is one job, not one per call.
// readObject's size is -1 when the path is not a regular file, and it reads nothing (bytesRead 0,
// digest null) when the file is larger than `into`. An error has its errno's name as its code
// (ENOSPC, so that a full disk is reported as one), EIO for names not listed in errno_error.

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// ---- XXH64 (Yann Collet's xxHash, 64-bit variant), written from its specification ---------------

static const uint64_t PRIME1 = 0x9E3779B185EBCA87ULL;
static const uint64_t PRIME2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t PRIME3 = 0x165667B19E3779F9ULL;
static const uint64_t PRIME4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t PRIME5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// The specification reads words little-endian; so does every machine Strata builds on (x86-64, arm64).
static inline uint64_t read64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint32_t read32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint64_t round64(uint64_t acc, uint64_t input) {
  acc += input * PRIME2;
  acc = rotl64(acc, 31);
  return acc * PRIME1;
}

static inline uint64_t merge64(uint64_t acc, uint64_t lane) {
  acc ^= round64(0, lane);
  return acc * PRIME1 + PRIME4;
}

static uint64_t xxh64(const uint8_t *p, size_t len) {
  const uint8_t *const end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v1 = PRIME1 + PRIME2, v2 = PRIME2, v3 = 0, v4 = -PRIME1;
    const uint8_t *const limit = end - 32;
    do {
      v1 = round64(v1, read64(p));
      v2 = round64(v2, read64(p + 8));
      v3 = round64(v3, read64(p + 16));
      v4 = round64(v4, read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = PRIME5;
  }
  h += (uint64_t)len;
  for (; p + 8 <= end; p += 8) h = rotl64(h ^ round64(0, read64(p)), 27) * PRIME1 + PRIME4;
  if (p + 4 <= end) {
    h = rotl64(h ^ ((uint64_t)read32(p) * PRIME1), 23) * PRIME2 + PRIME3;
    p += 4;
  }
  for (; p < end; p++) h = rotl64(h ^ ((uint64_t)*p * PRIME5), 11) * PRIME1;
  h ^= h >> 33;
  h *= PRIME2;
  h ^= h >> 29;
  h *= PRIME3;
  h ^= h >> 32;
  return h;
}

/** "xxh64:" and 16 hex digits, as layout/digest.ts names a block's digest; `out` holds 23 bytes. */
static void format_digest(uint64_t h, char *out) { snprintf(out, 23, "xxh64:%016llx", (unsigned long long)h); }

// ---- N-API plumbing ---------------------------------------------------------------------------

#define CHECK(env, call)                                               \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error((env), NULL, "block_io: " #call " failed");     \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

/** The bytes of a Buffer or other ArrayBufferView argument; NULL (and a thrown TypeError) otherwise. */
static napi_value bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *len) {
  bool is_view = false;
  CHECK(env, napi_is_typedarray(env, value, &is_view));
  if (!is_view) {
    napi_throw_type_error(env, NULL, "block_io: expected a Buffer or Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  napi_value array_buffer;
  size_t offset;
  void *raw;
  CHECK(env, napi_get_typedarray_info(env, value, &type, len, &raw, &array_buffer, &offset));
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "block_io: expected a Buffer or Uint8Array");
    return NULL;
  }
  *data = (uint8_t *)raw;
  return value;
}

/** A pool job: its input buffer is held by a reference until the job completes. */
typedef struct {
  napi_async_work work;
  napi_ref bytes_ref;
  napi_ref callback_ref;
  uint8_t *bytes;
  size_t capacity;
  char *path;          // readObject's file, syncFileSystem's path, or the path a sync failed on
  char **paths;        // syncPaths: the files, then the folders
  size_t path_count;
  size_t file_count;
  int error;           // errno of a failed job, else 0
  int64_t size;        // the file's size; -1 when it is not a regular file
  size_t bytes_read;
  int digested;
  char digest[23];
} Job;

static void free_job(napi_env env, Job *job) {
  if (job->bytes_ref) napi_delete_reference(env, job->bytes_ref);
  if (job->callback_ref) napi_delete_reference(env, job->callback_ref);
  if (job->work) napi_delete_async_work(env, job->work);
  if (job->paths) {
    for (size_t i = 0; i < job->path_count; i++) free(job->paths[i]);
    free(job->paths);
  } else {
    free(job->path);
  }
  free(job);
}

static napi_value errno_error(napi_env env, int error, const char *path) {
  const char *name;
  switch (error) {
    case ENOENT: name = "ENOENT"; break;
    case ENOTDIR: name = "ENOTDIR"; break;
    case EISDIR: name = "EISDIR"; break;
    case EACCES: name = "EACCES"; break;
    case EPERM: name = "EPERM"; break;
    case EIO: name = "EIO"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENFILE: name = "ENFILE"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ELOOP: name = "ELOOP"; break;
    case ENAMETOOLONG: name = "ENAMETOOLONG"; break;
    case ENOSPC: name = "ENOSPC"; break;
    case EDQUOT: name = "EDQUOT"; break;
    case EROFS: name = "EROFS"; break;
    case EINVAL: name = "EINVAL"; break;
    case ECANCELED: name = "ECANCELED"; break;
    default: name = "EIO"; break;
  }
  char message[512];
  snprintf(message, sizeof message, "%s: %s, '%s'", name, strerror(error), path ? path : "");
  napi_value code, text, err, errno_value;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &err);
  napi_create_int32(env, -error, &errno_value);
  napi_set_named_property(env, err, "errno", errno_value);
  if (path) {
    napi_value path_value;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &path_value);
    napi_set_named_property(env, err, "path", path_value);
  }
  return err;
}

static void call_back(napi_env env, Job *job, size_t argc, napi_value *argv) {
  napi_value callback, global, ignored;
  napi_get_reference_value(env, job->callback_ref, &callback);
  napi_get_global(env, &global);
  free_job(env, job);
  // A throwing callback surfaces as Node's uncaught exception, as from any other async completion.
  if (napi_call_function(env, global, callback, argc, argv, &ignored) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

/** The call's first `count` arguments into `argv`; false, and a TypeError saying `usage`, when fewer came. */
static bool arguments_of(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/** A copy of the string `value`; NULL, and a thrown error, when it is not a string or memory ran out. */
static char *string_of(napi_env env, napi_value value) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "block_io: every path must be a string");
    return NULL;
  }
  char *copy = malloc(len + 1);
  if (!copy) {
    napi_throw_error(env, NULL, "block_io: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, copy, len + 1, &len);
  return copy;
}

/** A zeroed job; NULL, and a thrown error, when memory ran out. */
static Job *new_job(napi_env env) {
  Job *job = calloc(1, sizeof(Job));
  if (!job) napi_throw_error(env, NULL, "block_io: out of memory");
  return job;
}

/** A new job on the bytes of `bytes_value`; NULL, and a thrown error, when it holds none. */
static Job *job_on_bytes(napi_env env, napi_value bytes_value) {
  Job *job = new_job(env);
  if (job && !bytes_of(env, bytes_value, &job->bytes, &job->capacity)) {
    free_job(env, job);
    return NULL;
  }
  return job;
}

/** Creates and queues a job for `execute`/`complete`, holding `bytes_value` (if any) and the callback. */
static napi_value queue_job(napi_env env, Job *job, napi_value bytes_value, napi_value callback, const char *name,
                            napi_async_execute_callback execute, napi_async_complete_callback complete) {
  napi_valuetype type;
  if (napi_typeof(env, callback, &type) != napi_ok || type != napi_function) {
    free_job(env, job);
    napi_throw_type_error(env, NULL, "block_io: the last argument must be a callback");
    return NULL;
  }
  napi_value resource_name;
  if ((bytes_value && napi_create_reference(env, bytes_value, 1, &job->bytes_ref) != napi_ok) ||
      napi_create_reference(env, callback, 1, &job->callback_ref) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free_job(env, job);
    napi_throw_error(env, NULL, "block_io: could not queue the job");
    return NULL;
  }
  return NULL;
}

// ---- digest / digestAsync ---------------------------------------------------------------------

static napi_value digest(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint8_t *data;
  size_t len;
  if (!arguments_of(env, info, 1, argv, "block_io: digest takes a Buffer") || !bytes_of(env, argv[0], &data, &len)) return NULL;
  char text[23];
  format_digest(xxh64(data, len), text);
  napi_value result;
  CHECK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

static void digest_execute(napi_env env, void *data) {
  (void)env;
  Job *job = (Job *)data;
  format_digest(xxh64(job->bytes, job->capacity), job->digest);
  job->digested = 1;
}

static void digest_complete(napi_env env, napi_status status, void *data) {
  Job *job = (Job *)data;
  napi_value argv[2];
  napi_get_null(env, &argv[0]);
  napi_create_string_utf8(env, job->digest, NAPI_AUTO_LENGTH, &argv[1]);
  if (status != napi_ok) {
    napi_value text;
    napi_create_string_utf8(env, "block_io: the digest job was cancelled", NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &argv[0]);
  }
  call_back(env, job, 2, argv);
}

static napi_value digest_async(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!arguments_of(env, info, 2, argv, "block_io: digestAsync takes a Buffer and a callback")) return NULL;
  Job *job = job_on_bytes(env, argv[0]);
  if (!job) return NULL;
  return queue_job(env, job, argv[0], argv[1], "strata:digest", digest_execute, digest_complete);
}

// ---- readObject -------------------------------------------------------------------------------

static void read_execute(napi_env env, void *data) {
  (void)env;
  Job *job = (Job *)data;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    job->error = errno;
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    job->error = errno;
  } else if (!S_ISREG(st.st_mode)) {
    job->size = -1;
  } else {
    job->size = st.st_size;
    if ((uint64_t)st.st_size <= job->capacity) {
      size_t filled = 0;
      while (filled < (size_t)st.st_size) {
        ssize_t n = pread(fd, job->bytes + filled, (size_t)st.st_size - filled, (off_t)filled);
        if (n < 0) {
          if (errno == EINTR) continue;
          job->error = errno;
          break;
        }
        if (n == 0) break;
        filled += (size_t)n;
      }
      if (!job->error) {
        job->bytes_read = filled;
        format_digest(xxh64(job->bytes, filled), job->digest);
        job->digested = 1;
      }
    }
  }
  close(fd);
}

static void read_complete(napi_env env, napi_status status, void *data) {
  Job *job = (Job *)data;
  napi_value argv[4];
  if (status != napi_ok || job->error) {
    argv[0] = errno_error(env, status != napi_ok ? ECANCELED : job->error, job->path);
    call_back(env, job, 1, argv);
    return;
  }
  napi_get_null(env, &argv[0]);
  napi_create_double(env, (double)job->bytes_read, &argv[1]);
  napi_create_double(env, (double)job->size, &argv[2]);
  if (job->digested) napi_create_string_utf8(env, job->digest, NAPI_AUTO_LENGTH, &argv[3]);
  else napi_get_null(env, &argv[3]);
  call_back(env, job, 4, argv);
}

static napi_value read_object(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!arguments_of(env, info, 3, argv, "block_io: readObject takes a path, a Buffer and a callback")) return NULL;
  Job *job = job_on_bytes(env, argv[1]);
  if (!job) return NULL;
  if (!(job->path = string_of(env, argv[0]))) {
    free_job(env, job);
    return NULL;
  }
  return queue_job(env, job, argv[1], argv[2], "strata:readObject", read_execute, read_complete);
}

// ---- syncPaths / syncFileSystem ---------------------------------------------------------------

/** Opens `path` and syncs it (data only for a file); 0, or the errno of what failed. */
static int sync_path(const char *path, int folder) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  if (fd < 0) return errno;
  int error = (folder ? fsync(fd) : fdatasync(fd)) == 0 ? 0 : errno;
  close(fd);
  return error;
}

static void sync_paths_execute(napi_env env, void *data) {
  (void)env;
  Job *job = (Job *)data;
  for (size_t i = 0; i < job->path_count && !job->error; i++) {
    job->error = sync_path(job->paths[i], i >= job->file_count);
    if (job->error) job->path = job->paths[i];
  }
}

static void sync_file_system_execute(napi_env env, void *data) {
  (void)env;
  Job *job = (Job *)data;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    job->error = errno;
    return;
  }
  if (syncfs(fd) != 0) job->error = errno;
  close(fd);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  Job *job = (Job *)data;
  napi_value argv[1];
  if (status != napi_ok || job->error) argv[0] = errno_error(env, status != napi_ok ? ECANCELED : job->error, job->path);
  else napi_get_null(env, &argv[0]);
  call_back(env, job, 1, argv);
}

/** Copies the strings of the array `value` onto the end of job->paths. */
static bool append_paths(napi_env env, napi_value value, Job *job) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array || napi_get_array_length(env, value, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "block_io: syncPaths takes two arrays of paths");
    return false;
  }
  char **grown = realloc(job->paths, (job->path_count + length + 1) * sizeof(char *));
  if (!grown) {
    napi_throw_error(env, NULL, "block_io: out of memory");
    return false;
  }
  job->paths = grown;
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    if (napi_get_element(env, value, i, &element) != napi_ok) {
      napi_throw_error(env, NULL, "block_io: could not read the list of paths");
      return false;
    }
    char *path = string_of(env, element);
    if (!path) return false;
    job->paths[job->path_count++] = path;
  }
  return true;
}

static napi_value sync_paths(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!arguments_of(env, info, 3, argv, "block_io: syncPaths takes files, folders and a callback")) return NULL;
  Job *job = new_job(env);
  if (!job) return NULL;
  // A job that fails here is freed with what it holds; job->path only ever points into job->paths.
  bool listed = append_paths(env, argv[0], job);
  job->file_count = job->path_count;
  if (!listed || !append_paths(env, argv[1], job)) {
    free_job(env, job);
    return NULL;
  }
  return queue_job(env, job, NULL, argv[2], "strata:syncPaths", sync_paths_execute, sync_complete);
}

static napi_value sync_file_system(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!arguments_of(env, info, 2, argv, "block_io: syncFileSystem takes a path and a callback")) return NULL;
  Job *job = new_job(env);
  if (!job) return NULL;
  if (!(job->path = string_of(env, argv[0]))) {
    free_job(env, job);
    return NULL;
  }
  return queue_job(env, job, NULL, argv[1], "strata:syncFileSystem", sync_file_system_execute, sync_complete);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"digest", NULL, digest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"digestAsync", NULL, digest_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readObject", NULL, read_object, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncPaths", NULL, sync_paths, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncFileSystem", NULL, sync_file_system, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
