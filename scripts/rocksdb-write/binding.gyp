{
  "targets": [{
    "target_name": "rocksdb_write",
    "sources": ["rocksdb_write.cc"],
    "include_dirs": ["<(module_root_dir)/../../node_modules/rocksdb/deps/rocksdb/rocksdb/include"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-frtti"]
  }]
}
