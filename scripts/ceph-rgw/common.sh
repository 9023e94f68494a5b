# Shared by start.sh and stop.sh (sourced, not run): how the daemons are started and found again
# from the pid files in <dir>/pids, bounded waits, and failing with the tail of the daemon logs.

# The ports from <base-port> on that one cluster uses: monitor, S3, then the OSD's messengers.
PORT_SPAN=20
# Stop order: clients of RADOS first, the monitor last.
DAEMONS_STOP_ORDER="rgw osd mon"
STOP_TIMEOUT_S=10

step() { echo "ceph-rgw: $*" >&2; }
elapsed() { echo "$SECONDS"; }

fail_plain() {
  echo "ceph-rgw: error: $*" >&2
  exit 1
}

# Prints the tail of every daemon log in <dir>, stops what was started there, and exits 1.
fail() {
  local dir="$1"; shift
  echo "ceph-rgw: error: $*" >&2
  local file
  for file in "$dir"/log/*; do
    [ -s "$file" ] || continue
    echo "---- last lines of $file" >&2
    # The monitor logs every command it serves (our polls included); those say nothing here.
    grep -v -e 'log_channel(audit)' -e ' : audit \[' -e 'handle_command' -e '^$' "$file" | tail -n 12 >&2 || true
  done
  echo "ceph-rgw: stopping what was started in $dir" >&2
  "$(dirname "${BASH_SOURCE[0]}")/stop.sh" "$dir" >&2 || true
  echo "ceph-rgw: error: $* (daemon logs in $dir/log)" >&2
  exit 1
}

# The pid recorded for daemon <name> in <dir> if that process is alive and is the one started with
# <dir>'s ceph.conf (a recycled pid belongs to someone else and is never touched).
daemon_pid() {
  local dir="$1" name="$2" pid
  [ -f "$dir/pids/$name.pid" ] || return 1
  pid="$(cat "$dir/pids/$name.pid")"
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-c $dir/ceph.conf " || return 1
  echo "$pid"
}

all_running() {
  local dir="$1" name
  for name in mon osd rgw; do daemon_pid "$dir" "$name" >/dev/null || return 1; done
}

# start_daemon <dir> <name> <command...>: runs it in the foreground mode of Ceph daemons, in the
# background of this shell, with its output in <dir>/log/<name>.out and its pid in <dir>/pids.
start_daemon() {
  local dir="$1" name="$2"; shift 2
  mkdir -p "$dir/pids"
  nohup "$@" >"$dir/log/$name.out" 2>&1 </dev/null &
  echo "$!" >"$dir/pids/$name.pid"
}

# wait_for <dir> <what> <seconds> <command...>: polls the command every 0.2 s, fails after <seconds>.
wait_for() {
  local dir="$1" what="$2" seconds="$3"; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    local name
    for name in mon osd rgw; do
      if [ -f "$dir/pids/$name.pid" ] && ! daemon_pid "$dir" "$name" >/dev/null; then
        fail "$dir" "the $name daemon exited while waiting for $what"
      fi
    done
    [ "$SECONDS" -lt "$deadline" ] || fail "$dir" "timed out after $seconds s waiting for $what"
    sleep 0.2
  done
}

# A `ceph` command, time-boxed: commands that need a manager (there is none) would hang forever.
ceph_cmd() {
  local dir="$1"; shift
  timeout 20 ceph -c "$dir/ceph.conf" --connect-timeout 15 "$@"
}

osd_up() { ceph_cmd "$1" osd stat | grep -q '1 up'; }

# True once something on 127.0.0.1:<port> answers an HTTP request.
s3_answers() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && head -c 9 <&3' _ "$1" 2>/dev/null |
    grep -q '^HTTP/1\.'
}

port_in_use() { timeout 2 bash -c '</dev/tcp/127.0.0.1/$1' _ "$1" 2>/dev/null; }
