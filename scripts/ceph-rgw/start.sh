#!/usr/bin/env bash
# Starts a throwaway single-host Ceph cluster serving S3 through a RADOS Gateway, for tests:
#   scripts/ceph-rgw/start.sh <dir> <base-port>
# One monitor, one OSD keeping its data in RAM (memstore), pools of size 1, no cephx, every daemon
# on 127.0.0.1 speaking msgr2 only, and radosgw (beast) answering S3 on 127.0.0.1. Everything it
# makes lives in <dir>: config, data, logs, and the pid of each daemon, which is how stop.sh finds
# them. Ports used: <base-port> the monitor, <base-port>+1 S3, <base-port>+2..+19 the OSD.
# On success it creates the bucket (with curl), writes <dir>/s3.env (shell-sourceable: endpoint,
# keys, bucket) and prints it.
# Running it again while the cluster answers only prints s3.env again; a half-started or dead
# cluster left in <dir> is stopped and made anew. Needs: ceph-mon ceph-osd radosgw (Debian).
# Environment: STRATA_RGW_MEMSTORE_BYTES (RAM cap of the OSD, default 2 GiB),
#              STRATA_RGW_BUCKET (bucket name written to s3.env, default strata-test).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 <dir> <base-port>" >&2
  exit 2
fi
DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
BASE_PORT="$2"
case "$BASE_PORT" in
  ''|*[!0-9]*) fail_plain "base port must be a number, not '$BASE_PORT'" ;;
esac
if [ "$BASE_PORT" -lt 1024 ] || [ "$BASE_PORT" -gt $((65535 - PORT_SPAN)) ]; then
  fail_plain "base port $BASE_PORT is outside 1024..$((65535 - PORT_SPAN))"
fi
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail_plain "$tool is not installed; install the Debian packages: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw"
done

MON_PORT=$BASE_PORT
S3_PORT=$((BASE_PORT + 1))
ENDPOINT="http://127.0.0.1:$S3_PORT"
ACCESS_KEY="STRATARGWTESTKEY0001"
SECRET_KEY="strataRgwTestSecret0000000000000000000001"
BUCKET="${STRATA_RGW_BUCKET:-strata-test}"
MEMSTORE_BYTES="${STRATA_RGW_MEMSTORE_BYTES:-2147483648}"
CONF="$DIR/ceph.conf"

write_env() {
  cat >"$DIR/s3.env" <<EOF
# Ceph RGW started by scripts/ceph-rgw/start.sh in $DIR; stop it with scripts/ceph-rgw/stop.sh $DIR
export STRATA_RGW_ENDPOINT=$ENDPOINT
export STRATA_RGW_BUCKET=$BUCKET
export STRATA_RGW_DIR=$DIR
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
EOF
  cat "$DIR/s3.env"
}

# Already running here and answering on the same port: nothing to do.
if [ -f "$DIR/s3.env" ] && all_running "$DIR" && grep -q "STRATA_RGW_ENDPOINT=$ENDPOINT\$" "$DIR/s3.env" &&
  s3_answers "$S3_PORT"; then
  cat "$DIR/s3.env"
  exit 0
fi
# Anything left from an earlier, failed or stopped start goes first.
"$HERE/stop.sh" "$DIR" >/dev/null
rm -rf "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/rgw" "$DIR/pids" "$DIR/monmap" "$DIR/keyring" "$DIR/s3.env" "$CONF"
mkdir -p "$DIR/mon" "$DIR/osd/ceph-0" "$DIR/run" "$DIR/log"

for port in "$MON_PORT" "$S3_PORT"; do
  if port_in_use "$port"; then fail_plain "port $port on 127.0.0.1 is already in use; pick another base port"; fi
done

FSID="$(cat /proc/sys/kernel/random/uuid)"
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $((BASE_PORT + 2))
ms bind port max = $((BASE_PORT + PORT_SPAN - 1))
# No cephx: the cluster lives on loopback for one test run. radosgw then needs crc mode to the
# monitor or it waits 300 s for an authentication that never comes.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
# Commit monitor changes every 100 ms instead of every 1 s: startup takes ~2 s instead of ~16 s.
paxos propose interval = 0.1
# One OSD: one copy, placement across OSDs rather than hosts, a few placement groups, no autoscaler.
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $DIR/log/cluster.log
keyring = $DIR/keyring
crash dir = $DIR/crash
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object name len = 460
osd max object namespace len = 64
debug ms = 0
debug monc = 0

[client.rgw]
# tcp_nodelay: without it a GET of a small object waits ~40 ms for a delayed ACK (Nagle).
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT tcp_nodelay=1
rgw data = $DIR/rgw
# Tails of deleted objects go back to RAM at once rather than after two hours.
rgw gc obj min wait = 0
rgw gc processor period = 5
EOF
: >"$DIR/keyring"

# --- monitor ---------------------------------------------------------------------------------
step "creating the monitor"
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >"$DIR/log/mkfs.out" 2>&1 ||
  fail "$DIR" "monmaptool failed"
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/mkfs.out" 2>&1 || fail "$DIR" "ceph-mon --mkfs failed"
start_daemon "$DIR" mon ceph-mon -c "$CONF" -f -i a
wait_for "$DIR" "the monitor to answer" 30 ceph_cmd "$DIR" mon stat

# --- OSD -------------------------------------------------------------------------------------
step "creating the OSD"
OSD_UUID="$(cat /proc/sys/kernel/random/uuid)"
OSD_ID="$(ceph_cmd "$DIR" osd new "$OSD_UUID")" || fail "$DIR" "ceph osd new failed"
[ "$OSD_ID" = 0 ] || fail "$DIR" "expected OSD id 0, got '$OSD_ID'"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/mkfs.out" 2>&1 || fail "$DIR" "ceph-osd --mkfs failed"
start_daemon "$DIR" osd ceph-osd -c "$CONF" -f -i 0
wait_for "$DIR" "the OSD to be up" 60 osd_up "$DIR"

# --- RADOS Gateway and its user ----------------------------------------------------------------
step "starting radosgw"
start_daemon "$DIR" rgw radosgw -c "$CONF" -f -n client.rgw
wait_for "$DIR" "radosgw to answer S3 on port $S3_PORT" 90 s3_answers "$S3_PORT"
timeout 60 radosgw-admin -c "$CONF" -n client.admin user create --uid strata-test --display-name "Strata tests" \
  --access-key "$ACCESS_KEY" --secret "$SECRET_KEY" >"$DIR/log/user.out" 2>&1 ||
  fail "$DIR" "radosgw-admin user create failed: $(tail -n 5 "$DIR/log/user.out")"
# The bucket, so that s3.env is all a `strata mount` needs (the test helper also makes sure of it).
if command -v curl >/dev/null 2>&1; then
  status="$(curl -sS -o "$DIR/log/bucket.out" -w '%{http_code}' --max-time 30 -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$ENDPOINT/$BUCKET" 2>&1)" || true
  [ "$status" = 200 ] || fail "$DIR" "creating bucket $BUCKET answered '$status': $(cat "$DIR/log/bucket.out" 2>/dev/null)"
else
  step "curl is not installed: bucket $BUCKET not created"
fi
step "ready at $ENDPOINT in $(elapsed) s"
write_env
