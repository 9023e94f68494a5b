{
  "targets": [{
    "target_name": "block_io",
    "sources": ["block_io.c"],
    "cflags": ["-O3", "-std=c11", "-D_GNU_SOURCE"]
  }]
}
