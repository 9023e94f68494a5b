#!/usr/bin/env bash
# Sets Strata up on a fresh Debian machine: system packages for FUSE and for the two native builds
# of the postinstall (and rsync and git, which test/posix/tools.test.ts runs, and strace, with which
# test/mount/smoke.test.ts sees what `ls -l` asks), npm dependencies, the build, and `strata` on the
# PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libfuse2 fuse3 libfuse-dev pkg-config g++ make python3 rsync git strace; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Ceph, for the S3 tests against a real RADOS Gateway (test/object/store.test.ts, test/rgw/): a
# monitor, an OSD and radosgw, which scripts/ceph-rgw/start.sh runs as a throwaway cluster on
# 127.0.0.1. No ceph-mgr and no recommends: just the three daemons and their tools.
ceph_need=()
for pkg in ceph-mon ceph-osd radosgw; do
  dpkg -s "$pkg" >/dev/null 2>&1 || ceph_need+=("$pkg")
done
if [ ${#ceph_need[@]} -gt 0 ]; then
  echo "setup: installing ${ceph_need[*]} (Ceph RGW for the S3 tests)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${ceph_need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
# The postinstall's native builds, again: no-ops when it made them.
node scripts/fuse-native/patch.mjs
node scripts/rocksdb-write/build.mjs
node scripts/block-io/build.mjs
npm run build
chmod +x dist/src/cli/main.js
npm link --no-audit --no-fund >/dev/null 2>&1 || npm install -g . --no-audit --no-fund >/dev/null
echo "setup: done; $(command -v strata)"
