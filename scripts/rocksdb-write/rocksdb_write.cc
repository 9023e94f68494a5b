// Writes a batch of the `rocksdb` npm package (5.2.1) on the calling thread. The package only writes
// through libuv's thread pool: for one small commit that is a wake-up of a pool thread and one of the
// main thread on the way back, 45-75 us of waiting against 13 us for the write itself (WAL append to
// the page cache and memtable insert; .probe/rwbench.mjs). Only writes that do not sync come here;
// `no_slowdown` makes RocksDB refuse, instead of wait out, a write stall, and the caller then takes
// the thread pool.
//
// The package does not export its structs, so the two below restate the leading members of its
// `Database` and `Batch` (binding.cc); scripts/rocksdb-write/build.mjs builds only against the
// binding.cc they were read from (its sha256) and then checks the addon on a throwaway database.
// DB::Write is virtual: it is called through the vtable of the database the package opened, with
// the headers of the RocksDB the package ships.

#include <node_api.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

namespace {

struct PackageDatabase {
  rocksdb::DB* db;
};

struct PackageBatch {
  PackageDatabase* database;
  rocksdb::WriteBatch* batch;
};

// (batchContext) -> 0 when written, else RocksDB's status code * 256 + subcode; nothing was written then.
napi_value WriteBatchNow(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* context = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &context) != napi_ok || context == nullptr) {
    napi_throw_type_error(env, nullptr, "writeBatchNow takes the context of a batch of the rocksdb package");
    return nullptr;
  }
  PackageBatch* batch = static_cast<PackageBatch*>(context);
  if (batch->database == nullptr || batch->database->db == nullptr) {
    napi_throw_error(env, nullptr, "writeBatchNow: the database of this batch is not open");
    return nullptr;
  }
  rocksdb::WriteOptions options;
  options.sync = false;
  options.no_slowdown = true;
  rocksdb::Status status = batch->database->db->Write(options, batch->batch);
  napi_value result;
  napi_create_int32(env, static_cast<int32_t>(status.code()) * 256 + static_cast<int32_t>(status.subcode()), &result);
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value write;
  napi_value layout;
  napi_create_function(env, "writeBatchNow", NAPI_AUTO_LENGTH, WriteBatchNow, nullptr, &write);
  napi_create_string_utf8(env, "rocksdb@5.2.1", NAPI_AUTO_LENGTH, &layout);
  napi_set_named_property(env, exports, "writeBatchNow", write);
  napi_set_named_property(env, exports, "packageLayout", layout);
  return exports;
}
