#!/usr/bin/env bash
# Stops the cluster that scripts/ceph-rgw/start.sh started in <dir>:
#   scripts/ceph-rgw/stop.sh <dir>
# radosgw first, then the OSD, then the monitor; each gets SIGTERM and, if still there after 10 s,
# SIGKILL. Only the processes whose pids start.sh recorded in <dir>/pids (and that still run with
# <dir>'s ceph.conf) are signalled. Safe to run again, and on a folder where nothing runs. The
# folder itself is left for the caller to remove (the logs may be wanted).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

if [ $# -ne 1 ]; then
  echo "usage: $0 <dir>" >&2
  exit 2
fi
[ -d "$1" ] || exit 0
DIR="$(cd "$1" && pwd)"

for name in $DAEMONS_STOP_ORDER; do
  if pid="$(daemon_pid "$DIR" "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    # A zombie (nobody reaped it yet) has an empty cmdline, so daemon_pid counts it as gone.
    while daemon_pid "$DIR" "$name" >/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if daemon_pid "$DIR" "$name" >/dev/null; then
      echo "ceph-rgw: $name (pid $pid) still running ${STOP_TIMEOUT_S} s after SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + STOP_TIMEOUT_S))
      while daemon_pid "$DIR" "$name" >/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    fi
    echo "ceph-rgw: stopped $name (pid $pid)"
  fi
  rm -f "$DIR/pids/$name.pid"
done
