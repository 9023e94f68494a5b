#!/usr/bin/env bash
# Sets Strata up on a fresh Debian machine: system packages for FUSE, npm dependencies, the build,
# and `strata` on the PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libfuse2 fuse3 libfuse-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
# Gives every FUSE handler its caller's uid/gid (no-op when the postinstall already did it).
node scripts/fuse-native/patch.mjs
npm run build
chmod +x dist/src/cli/main.js
npm link --no-audit --no-fund >/dev/null 2>&1 || npm install -g . --no-audit --no-fund >/dev/null
echo "setup: done; $(command -v strata)"
