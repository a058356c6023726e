#!/usr/bin/env bash
# Scale out on PostgreSQL (issue 13): POST /v1/orders end to end (HTTP -> durable PostgreSQL group
# commit -> outbox relay -> RabbitMQ publisher confirm) with 1 and with 3 service instances on one
# database, in ONE run on ONE private PostgreSQL 15 (fsync on) and ONE private RabbitMQ node that
# this script starts, against, on the same two servers:
#   1. pgbench's durable commit rate (a one-row 1 KB insert per transaction, 64 clients): the
#      limit of one commit per request;
#   2. the seed's design, ../shared/peer-node (NestJS, pg, one awaited confirm per event), with a
#      database and a RabbitMQ vhost of its own (its start-deps.sh always boots servers of its
#      own, so this script starts only the peer, with run-peer.sh and DATABASE_URL / AMQP_URL);
#   3. the service, 1 instance (fresh database), relay on;
#   4. the service, 3 instances on one fresh database, the clients spread over them (one wrk per
#      instance, latencies merged by bench/e2e/merge_latencies.py);
#   5. (unless --no-failover) 3 instances again (fresh database) with the relay leader SIGKILLed
#      mid-load: time to a new leader (/readyz) and the longest stretch without a new message in
#      the queue (the failover gap).
# After each level: every stored order's 3 events in the quorum queue bench.all (e2e_audit), the
# backlog, orders/s, events/s, p50/p99, commit-to-confirm p50/p99 from the service's histogram
# order_outbox_commit_to_confirm_seconds (bucket deltas over the level, summed over instances),
# and CPU core-seconds of the system, PostgreSQL, the broker and wrk from /proc.
#
# Prints a Markdown section and PASS/FAIL lines for the targets (3 instances >= 1 instance;
# >= 3x the peer) and, unless --no-doc, writes it into docs/benchmarks.md between
# <!-- bench:scale-out:begin --> and <!-- bench:scale-out:end -->.
#
#   bench/e2e/run_scale_out_bench.sh [--clients 64] [--duration 15] [--warmup 3]
#       [--pgbench-seconds 5] [--kill-at 6] [--writers3 N] [--no-peer] [--no-failover] [--quiet-wait]
#       [--no-build] [--keep-work] [--no-doc] [--pg-statements]
#
#   --clients      connections per level (split over the instances: 21/21/22 for 3)
#   --duration     seconds per level (wrk -d); --warmup seconds at 16 clients first (0: none)
#   --kill-at      seconds into the failover level when the relay leader gets SIGKILL
#   --writers3 N   --database-writers of each instance in the 3-instance levels (default: the
#                  service's, 4; the 1-instance level always has the default)
#   --quiet-wait   before each level wait (<= 2 min) until the machine is < 10 % busy
#   --keep-work    keep the temporary directory (logs, wrk output)
#   --pg-statements load pg_stat_statements (track = all, so the statements inside the service's
#                  write function count too) and print, after each level, the statements that
#                  took the most server time (also in $WORK/statements.<level>); it costs
#                  PostgreSQL some CPU, so its figures are for finding the cost, not for the doc
#
# Needs root (PostgreSQL runs as the postgres user). Everything it starts (PostgreSQL, the
# broker, the peer, the service instances, wrk) it stops in its EXIT trap, by recorded PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
COMMAND="bench/e2e/run_scale_out_bench.sh${*:+ $*}"

# ------------------------------------------------------------------------------------------------
# Options

CLIENTS=64
DURATION=15
WARMUP=3
PGBENCH_SECONDS=5
KILL_AT=""
WRITERS3=""
PEER=1
FAILOVER=1
QUIET_WAIT=0
BUILD=1
KEEP_WORK=0
DOC=1
PG_STATEMENTS=0
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --pgbench-seconds) PGBENCH_SECONDS=${2:?}; shift 2 ;;
    --kill-at) KILL_AT=${2:?}; shift 2 ;;
    --writers3) WRITERS3=${2:?}; shift 2 ;;
    --no-peer) PEER=0; shift ;;
    --no-failover) FAILOVER=0; shift ;;
    --quiet-wait) QUIET_WAIT=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --keep-work) KEEP_WORK=1; shift ;;
    --no-doc) DOC=0; shift ;;
    --pg-statements) PG_STATEMENTS=1; DOC=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run_scale_out_bench: unknown option '$1'" >&2; usage ;;
  esac
done
KILL_AT=${KILL_AT:-$(( DURATION * 2 / 5 ))}
for n in "$CLIENTS" "$DURATION" "$WARMUP" "$PGBENCH_SECONDS" "$KILL_AT"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "run_scale_out_bench: '$n' is not a whole number" >&2; exit 2; }
done
(( CLIENTS >= 3 && DURATION > 0 && PGBENCH_SECONDS > 0 )) \
  || { echo "run_scale_out_bench: need >= 3 clients and durations > 0" >&2; exit 2; }
(( KILL_AT >= 1 && KILL_AT < DURATION )) \
  || { echo "run_scale_out_bench: --kill-at must be within the level (1..$((DURATION - 1)) s)" >&2; exit 2; }

BENCH_NAME=run_scale_out_bench
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
BUILD_DIR=$REPO/build/release
SERVICE_BIN=${E2E_SERVICE_BIN:-$BUILD_DIR/src/main/order-service}
SERVICE_AUTH_ARGS=${E2E_SERVICE_AUTH_ARGS---auth none}  # the pipeline, not authentication
AUDIT_BIN=$BUILD_DIR/bench/e2e/e2e_audit
LUA=$REPO/bench/e2e/create_order_quantiles.lua
TOPOLOGY=$REPO/bench/e2e/topology.json
QUEUE=bench.all
PG_BIN=/usr/lib/postgresql/15/bin
HZ=$(getconf CLK_TCK)
export E2E_LUA_DIR=$REPO/bench/e2e   # create_order_quantiles.lua dofile()s create_order.lua
# shellcheck source=bench/lib/e2e_common.sh
. "$REPO/bench/lib/e2e_common.sh"

need=(wrk curl python3 /usr/bin/time ss psql runuser "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/pgbench")
[[ $PEER == 1 ]] && need+=(node npm)
for t in "${need[@]}"; do command -v "$t" >/dev/null || die "'$t' is not installed"; done
[[ $(id -u) == 0 ]] || die "needs root (PostgreSQL is started as the postgres user via runuser)"

# ------------------------------------------------------------------------------------------------
# Cleanup: stop what we started, by recorded PID.

WORK=$(mktemp -d /tmp/scale-out-bench-XXXXXX)
chmod 755 "$WORK"            # PostgreSQL (user postgres) must traverse it to its data dir
SVC_PIDS=()                  # the service instances of the current level
WRK_PIDS=()                  # the wrk processes of the current load
STARTED_PID=""               # the last service start_service launched
WATCH_PID=""                 # a queue probe in the background
BROKER_DIR=$WORK/rmq
BROKER_STARTED=0
PG_DIR=$WORK/pg
PG_STARTED=0
PG_PID=""
PEER_STARTED=0
PEER_DEPS_DIR=$WORK/peer-deps   # run-peer.sh writes peer.pid and peer.log here
EPMD_BEFORE=$(pgrep -x epmd | head -1 || true)

stop_instances() {
  local p
  for p in "${SVC_PIDS[@]}"; do stop_pid "$p" 20; done
  SVC_PIDS=()
}
cleanup() {
  local rc=$? p
  set +e
  trap - EXIT INT TERM
  stop_pid "$WATCH_PID" 2
  for p in "${WRK_PIDS[@]}"; do stop_pid "$(pgrep -P "$p" | head -1)" 2; stop_pid "$p" 2; done
  stop_instances
  stop_pid "$STARTED_PID" 20
  [[ $PEER_STARTED == 1 ]] && stop_pid "$(cat "$PEER_DEPS_DIR/peer.pid" 2>/dev/null)" 20
  [[ $BROKER_STARTED == 1 ]] && bash scripts/rabbitmq-local.sh stop --dir "$BROKER_DIR" >&2
  if [[ $PG_STARTED == 1 ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
    [[ -z $PG_PID ]] || stop_pid "$PG_PID" 10
  fi
  stop_epmd_if_ours "$EPMD_BEFORE"
  if [[ $KEEP_WORK == 1 || $rc != 0 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
# Build: only what this bench runs (2 shared cores).

if [[ $BUILD == 1 ]]; then
  log "building order-service, e2e_audit (release preset)"
  cmake --preset release >/dev/null
  nice -n 5 cmake --build --preset release -j2 --target order-service e2e_audit >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
for b in "$SERVICE_BIN" "$AUDIT_BIN"; do [[ -x $b ]] || die "$b is missing (build it, or drop --no-build)"; done

# ------------------------------------------------------------------------------------------------
# The servers: one private RabbitMQ node, one private PostgreSQL 15 (initdb/pg_ctl as postgres in
# $WORK/pg, fsync and synchronous_commit on, loopback only, trust auth: nobody else can reach a
# 127.0.0.1 port of a throwaway server that lives for one run).

start_private_broker "$BROKER_DIR"
MGMT="http://127.0.0.1:$BROKER_MGMT_PORT/api"

PG_PORT=""
for p in 5591 5593 5595 5597 5599; do port_free "$p" && { PG_PORT=$p; break; }; done
[[ -n $PG_PORT ]] || die "no free port for PostgreSQL (tried 5591-5599)"
mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR"
log "starting a private PostgreSQL 15 on :$PG_PORT"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale \
  >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
fsync = on
synchronous_commit = on
max_connections = 300
shared_buffers = 128MB
log_min_messages = warning
CONF
(( PG_STATEMENTS )) && cat >>"$PG_DIR/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
CONF
PG_STARTED=1
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
  >/dev/null || { cat "$PG_DIR/server.log" >&2; die "pg_ctl start failed"; }
PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
# Everything (pgbench, the peer, the service) connects over TCP to 127.0.0.1, the same way.
pg_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
pg_db() { local db=$1; shift; psql -h 127.0.0.1 -p "$PG_PORT" -U bench -d "$db" -v ON_ERROR_STOP=1 -Atq "$@"; }
pg_admin -c "CREATE ROLE bench LOGIN"
PG_VERSION=$("$PG_BIN/postgres" --version | awk '{print $3}')

# ------------------------------------------------------------------------------------------------
# 1. pgbench: durable one-row inserts (1 KB, one commit each) at $CLIENTS clients.

pg_admin -c "CREATE DATABASE pgbench OWNER bench"
pg_db pgbench -c "CREATE TABLE pgbench_commits (id bigserial PRIMARY KEY, body text NOT NULL)"
printf "INSERT INTO pgbench_commits (body) VALUES (repeat('x', 1000));\n" >"$WORK/insert.sql"
wait_quiet
log "pgbench: one-row insert, $CLIENTS clients, ${PGBENCH_SECONDS} s"
s0=$(snapshot "tree:$PG_PID")
/usr/bin/time -f '%U %S' -o "$WORK/pgbench.time" "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U bench \
  -n -c "$CLIENTS" -j 2 -T "$PGBENCH_SECONDS" -f "$WORK/insert.sql" pgbench >"$WORK/pgbench.out" 2>&1 \
  || { cat "$WORK/pgbench.out" >&2; die "pgbench failed"; }
s1=$(snapshot "tree:$PG_PID")
PGBENCH_TPS=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$WORK/pgbench.out" | head -1)
PGBENCH_TPS=$(printf '%.0f' "$PGBENCH_TPS")
PGBENCH_LAT=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$WORK/pgbench.out")
PGBENCH_PG_S=$(diff_secs "$s0" "$s1" 1)
PGBENCH_CLIENT_S=$(awk 'END { printf "%.2f", $1 + $2 }' "$WORK/pgbench.time")
PGBENCH_PG_US=$(awk -v s="$PGBENCH_PG_S" -v r="$PGBENCH_TPS" -v d="$PGBENCH_SECONDS" \
  'BEGIN { printf "%.0f", (r > 0 ? s * 1e6 / (r * d) : 0) }')
log "pgbench: $PGBENCH_TPS commits/s (latency $PGBENCH_LAT ms), PostgreSQL $PGBENCH_PG_S core-s ($PGBENCH_PG_US µs/commit), pgbench $PGBENCH_CLIENT_S core-s"
pg_admin -c "DROP DATABASE pgbench"

# ------------------------------------------------------------------------------------------------
# Load: one wrk per target URL, the clients split over them, started together. Each wrk runs
# create_order_quantiles.lua: its SUMMARY line and a latency dump that merge_latencies.py pools.

LOAD_TAG=""
start_load() { # TAG CLIENTS SECONDS URL... -> WRK_PIDS
  local tag=$1 c=$2 d=$3 n i ci threads
  shift 3
  n=$#; i=0; WRK_PIDS=(); LOAD_TAG=$tag
  for url in "$@"; do
    ci=$(( c / n + (i < c % n ? 1 : 0) ))
    threads=$(( n == 1 && ci >= 2 ? 2 : 1 ))
    E2E_QUANTILES_FILE=$WORK/wrk.$tag.$i.q /usr/bin/time -f '%U %S' -o "$WORK/wrk.$tag.$i.time" \
      wrk -t"$threads" -c"$ci" -d"${d}s" --latency --timeout 10s -s "$LUA" "$url" \
      >"$WORK/wrk.$tag.$i" 2>&1 &
    WRK_PIDS+=($!)
    i=$((i + 1))
  done
}
# finish_load -> LOAD_END_MS, LOAD_RPS (sum), LOAD_REQ, LOAD_NON2XX, LOAD_ERRS, WRK_CPU, LOAD_LAT
# (MERGED line: p50/p90/p99/max over all requests of all the wrk processes)
finish_load() {
  local i pid line rc
  LOAD_RPS=0; LOAD_REQ=0; LOAD_NON2XX=0; LOAD_ERRS=0; WRK_CPU=0
  for i in "${!WRK_PIDS[@]}"; do
    pid=${WRK_PIDS[$i]}
    set +e; wait "$pid"; rc=$?; set -e
    [[ $rc == 0 ]] || log "wrk #$i of $LOAD_TAG exited with $rc (interrupted or failed)"
  done
  LOAD_END_MS=$(date +%s%3N)
  for i in "${!WRK_PIDS[@]}"; do
    line=$(grep '^SUMMARY' "$WORK/wrk.$LOAD_TAG.$i") || { cat "$WORK/wrk.$LOAD_TAG.$i" >&2; die "no SUMMARY from wrk #$i of $LOAD_TAG"; }
    LOAD_RPS=$(awk -v a="$LOAD_RPS" -v b="$(field "$line" rps)" 'BEGIN { printf "%.1f", a + b }')
    LOAD_REQ=$(( LOAD_REQ + $(field "$line" requests) ))
    LOAD_NON2XX=$(( LOAD_NON2XX + $(field "$line" non2xx) ))
    LOAD_ERRS=$(( LOAD_ERRS + $(field "$line" connect_err) + $(field "$line" read_err) + $(field "$line" write_err) + $(field "$line" timeouts) ))
    WRK_CPU=$(awk -v a="$WRK_CPU" 'END { printf "%.2f", a + $1 + $2 }' "$WORK/wrk.$LOAD_TAG.$i.time")
  done
  local files=()
  for i in "${!WRK_PIDS[@]}"; do files+=("$WORK/wrk.$LOAD_TAG.$i.q"); done
  LOAD_LAT=$(python3 "$REPO/bench/e2e/merge_latencies.py" "${files[@]}") || die "merging latencies of $LOAD_TAG failed"
  WRK_PIDS=()
}

# ------------------------------------------------------------------------------------------------
# Systems under test. Each level gets a fresh database; "marks" (the order ids present before
# the level: the functional check's and the warm-up's) are kept in a table of the bench's own.

readyz_field() { # URL PYTHON-EXPR over r (the /readyz JSON) -> value, or "" when unreachable
  curl -s -m 1 "$1/readyz" 2>/dev/null | python3 -c "import json,sys; r = json.load(sys.stdin); print($2)" 2>/dev/null || true
}
SVC_URLS=()
start_instances() { # N DB [WRITERS: --database-writers of each instance; empty: the default]
  local n=$1 db=$2 writers=${3:-} i k leaders url
  local extra=()
  [[ -n $writers ]] && extra=(--database-writers "$writers")
  pg_admin -c "CREATE DATABASE $db OWNER bench"
  SVC_URLS=()
  for ((i = 1; i <= n; i++)); do
    log "starting order-service #$i of $n on database $db"
    START_READY_STATES="connected standby" \
      start_service "postgresql://bench@127.0.0.1:$PG_PORT/$db" "$WORK/service.$db.$i.log" "${extra[@]}"
    SVC_PIDS+=("$STARTED_PID"); SVC_URLS+=("$STARTED_URL"); STARTED_PID=""
  done
  # exactly one leader, connected to the broker
  for ((k = 0; k < 300; k++)); do
    leaders=0
    for url in "${SVC_URLS[@]}"; do
      [[ $(readyz_field "$url" 'r["relay"]["role"] + "/" + r["relay"]["state"]') == leader/connected ]] && leaders=$((leaders + 1))
    done
    [[ $leaders == 1 ]] && return 0
    sleep 0.1
  done
  die "$db: not exactly one connected relay leader among $n instances after 30 s ($leaders)"
}
# late_rows: rows the relays found below their cursors so far (relay.lateRows on /readyz, summed
# over the running instances; a killed instance's count goes with it): rows whose ids committed
# out of order.
late_rows() {
  local n=0 url v
  for url in "${SVC_URLS[@]}"; do
    v=$(readyz_field "$url" 'r["relay"].get("lateRows", 0)')
    n=$((n + ${v:-0}))
  done
  echo "$n"
}
# confirm_timeouts DB: the relays' "no confirm within" warnings so far (each republishes the
# unconfirmed window).
confirm_timeouts() { cat "$WORK"/service."$1".*.log 2>/dev/null | grep -c 'outbox relay: no confirm within' || true; }
svc_pending() { pg_db "$1" -c "SELECT count(*) FROM outbox_publication WHERE published_at IS NULL"; }
wait_drained() { # SYS DB
  local i
  [[ $1 == S ]] || { sleep 1; return 0; }   # the peer publishes before it answers
  for ((i = 0; i < 600; i++)); do [[ $(svc_pending "$2") == 0 ]] && return 0; sleep 0.1; done
  die "$2: the outbox did not drain"
}
id_column() { [[ $1 == S ]] && echo order_id || echo id; }
mark_orders() { # SYS DB
  pg_db "$2" -c "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_mark; CREATE TABLE bench_mark AS SELECT $(id_column "$1") AS id FROM orders"
}
new_orders() { # SYS DB -> the ids of orders stored since mark_orders, one a line
  pg_db "$2" -c "SELECT $(id_column "$1") FROM orders WHERE $(id_column "$1") NOT IN (SELECT id FROM bench_mark)"
}

# ------------------------------------------------------------------------------------------------
# One level: SYS (S service, P peer), NAME, DB, AMQP URL, FAILOVER (0/1), then the URLs to load.
# CPU snapshots before the load, when wrk exits and when the last event is in the queue (core-
# seconds cover load + drain). Orders = what the database stored (wrk's responses plus requests
# in flight when it stopped). Backlog = wrk's exit until the queue held 3 x orders.

RESULTS=$WORK/results.tsv
: >"$RESULTS"
FAILOVER_LINE=""
# pg_stat_statements of one database (--pg-statements): reset before a level, top 15 by total
# server time after it.
pg_statements_reset() { # DB
  pg_admin -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "SELECT pg_stat_statements_reset()" >/dev/null
}
pg_statements_report() { # DB FILE
  pg_admin -d "$1" -F $'\t' -c "SELECT round(s.total_exec_time::numeric, 0) AS ms, s.calls, s.rows,
      round((s.total_exec_time * 1000 / greatest(s.calls, 1))::numeric, 1) AS us_per_call,
      left(regexp_replace(s.query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$1' ORDER BY s.total_exec_time DESC LIMIT 15" >"$2"
  log "$1: statements by server time (ms, calls, rows, µs/call, statement):"
  sed 's/^/    /' "$2" >&2
}

measure() {
  local sys=$1 name=$2 db=$3 amqp=$4 failover=$5
  shift 5
  local urls=("$@") n=$# tag spec s0 s1 s2 prev orders i rc w reached backlog ids audit ok stop_at
  tag=${name//[ ,]/_}
  if [[ $sys == S ]]; then
    spec=""; for p in "${SVC_PIDS[@]}"; do spec+="tree:$p "; done
    for ((i = n; i < 3; i++)); do spec+="tree: "; done   # three system columns, always
  else
    spec="tree:$(cat "$PEER_DEPS_DIR/peer.pid") tree: tree: "
  fi
  spec+="pgrp:$BROKER_PGID tree:$PG_PID"
  if [[ $WARMUP -gt 0 ]]; then
    log "$name: warm-up, ${WARMUP} s at 16 clients"
    start_load "$tag.warmup" 16 "$WARMUP" "${urls[@]}"
    finish_load
    wait_drained "$sys" "$db"
  fi
  "$AUDIT_BIN" purge --amqp-url "$amqp" --queue "$QUEUE" >/dev/null
  mark_orders "$sys" "$db"
  (( PG_STATEMENTS )) && pg_statements_reset "$db"
  local c2c0=$WORK/c2c.$tag.0 c2c1=$WORK/c2c.$tag.1
  [[ $sys == S ]] && c2c_scrape "$c2c0" "${urls[@]}"
  wait_quiet
  rm -f "$WORK/expect.$tag"
  local t0 interval=2
  t0=$(date +%s%3N)
  stop_at=$((t0 + DURATION * 1000))
  # The failover level polls during the load (every 5 ms) to see the gap; the others from the
  # planned end on (no polls during the load).
  [[ $failover == 1 ]] && { stop_at=$((t0 + 1000)); interval=5; }
  "$AUDIT_BIN" watch --amqp-url "$amqp" --queue "$QUEUE" --expect-file "$WORK/expect.$tag" \
    --start-at-ms "$stop_at" --interval-ms "$interval" --timeout-s 120 >"$WORK/watch.$tag" 2>&1 &
  WATCH_PID=$!
  local late0=0 cto0=0
  [[ $sys == S ]] && { late0=$(late_rows "$db"); cto0=$(confirm_timeouts "$db"); }
  # shellcheck disable=SC2086  # spec is a word list
  s0=$(snapshot $spec)
  log "$name: $CLIENTS clients over $n URL(s), ${DURATION} s"
  start_load "$tag" "$CLIENTS" "$DURATION" "${urls[@]}"
  if [[ $failover == 1 ]]; then kill_leader_during_load "$t0"; fi
  finish_load
  # shellcheck disable=SC2086
  s1=$(snapshot $spec)
  prev=-1
  for ((i = 0; i < 50; i++)); do
    orders=$(new_orders "$sys" "$db" | wc -l)
    [[ $orders == "$prev" ]] && break
    prev=$orders; sleep 0.2
  done
  echo $((3 * orders)) >"$WORK/expect.$tag"
  set +e; wait "$WATCH_PID"; rc=$?; set -e
  WATCH_PID=""
  # shellcheck disable=SC2086
  s2=$(snapshot $spec)
  (( PG_STATEMENTS )) && pg_statements_report "$db" "$WORK/statements.$tag"
  local c2c="c2c_count=- c2c_p50_ms=- c2c_p99_ms=- c2c_p50_bucket=- c2c_p99_bucket=-"
  if [[ $sys == S && $failover == 0 ]]; then
    c2c_scrape "$c2c1" "${urls[@]}"
    c2c=$(c2c_quantiles "$c2c0" "$c2c1")
  fi
  local late="-" cto="-"
  [[ $sys == S ]] && cto=$(( $(confirm_timeouts "$db") - cto0 ))
  # Not for the failover level: the killed instance's count went with it (the sum would drop).
  [[ $sys == S && $failover == 0 ]] && late=$(( $(late_rows "$db") - late0 ))
  w=$(grep '^WATCH' "$WORK/watch.$tag" || true)
  reached=$(field "$w" reached_ms)
  if [[ $rc != 0 || -z $reached || $reached == -1 ]]; then
    backlog="timeout"
  else
    backlog=$((reached - LOAD_END_MS)); (( backlog < 0 )) && backlog=0
  fi
  ids=$WORK/ids.$tag
  new_orders "$sys" "$db" >"$ids"
  local hdr=required allow=()
  [[ $sys == P ]] && hdr=none
  # The relay publishes at least once: after a failover, and after a confirm timeout (a broker
  # starved of CPU), messages the broker had already taken go out again with their messageId.
  # They pass (consumers drop them by messageId) and are counted; any other extra message fails.
  [[ $sys == S ]] && allow=(--allow-republished)
  audit=$("$AUDIT_BIN" audit --amqp-url "$amqp" --queue "$QUEUE" --orders "$ids" --headers "$hdr" \
    "${allow[@]}" 2>>"$WORK/audit.log") || true
  ok=FAIL
  local dup rep extra
  dup=$(field "$audit" duplicates); rep=$(field "$audit" republished)
  extra=$(( ${dup:-1} - (${#allow[@]} > 0 ? ${rep:-0} : 0) ))
  if [[ $(field "$audit" orders_ok) == "$orders" && $(field "$audit" orders_missing_events) == 0 \
        && $extra == 0 && $(field "$audit" unknown_orders) == 0 \
        && $(field "$audit" bad_props) == 0 && $(field "$audit" bad_bodies) == 0 && $orders -gt 0 ]]; then
    ok=ok
  fi
  local sys_s pg_s brk_s kth busy irq foreign svc_us pg_us brk_us events_s
  # An instance killed during the level reads 0 at the end: clamped, its CPU is not counted.
  sys_s=$(awk -v a="$(diff_secs "$s0" "$s2" 1)" -v b="$(diff_secs "$s0" "$s2" 2)" -v c="$(diff_secs "$s0" "$s2" 3)" \
    'BEGIN { printf "%.2f", (a > 0 ? a : 0) + (b > 0 ? b : 0) + (c > 0 ? c : 0) }')
  brk_s=$(diff_secs "$s0" "$s2" 4)
  pg_s=$(diff_secs "$s0" "$s2" 5)
  kth=$(diff_secs "$s0" "$s2" 6)
  busy=$(diff_secs "$s0" "$s2" 7)
  irq=$(diff_secs "$s0" "$s2" 8)
  foreign=$(awk -v b="$busy" -v a="$sys_s" -v r="$brk_s" -v p="$pg_s" -v k="$kth" -v i="$irq" -v w="$WRK_CPU" \
    'BEGIN { f = b - a - r - p - k - i - w; if (f < 0) f = 0; printf "%.2f", f }')
  per() { awk -v s="$1" -v n="$orders" 'BEGIN { printf "%.0f", (n > 0 ? s * 1e6 / n : 0) }'; }
  svc_us=$(per "$sys_s"); pg_us=$(per "$pg_s"); brk_us=$(per "$brk_s")
  # confirmed events per second of the level: 3 x stored orders over load + drain
  events_s=$(awk -v n="$orders" -v t0="$t0" -v e="$LOAD_END_MS" -v b="$backlog" \
    'BEGIN { if (b == "timeout") { print "-"; exit } printf "%.0f", 3 * n * 1000 / (e - t0 + b) }')
  local confirmed_s
  confirmed_s=$(awk -v e="$events_s" 'BEGIN { if (e == "-") print "-"; else printf "%.0f", e / 3 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name" "$sys" "$n" "$CLIENTS" "$LOAD_RPS" "$events_s" \
    "$(field "$LOAD_LAT" p50_ms)" "$(field "$LOAD_LAT" p90_ms)" "$(field "$LOAD_LAT" p99_ms)" "$(field "$LOAD_LAT" max_ms)" \
    "$LOAD_NON2XX" "$LOAD_ERRS" "$orders" "$sys_s" "$pg_s" "$brk_s" "$WRK_CPU" "$irq" "$foreign" \
    "$svc_us" "$pg_us" "$brk_us" "$backlog" "$ok" \
    "$(field "$c2c" c2c_p50_ms) ($(field "$c2c" c2c_p50_bucket))" "$(field "$c2c" c2c_p99_ms) ($(field "$c2c" c2c_p99_bucket))" \
    "$(field "$audit" republished)" "$confirmed_s" "$late" "$cto" >>"$RESULTS"
  log "$name: $LOAD_RPS orders/s answered, $confirmed_s orders/s confirmed ($events_s events/s), late rows $late, confirm timeouts $cto, $LOAD_LAT, non2xx $LOAD_NON2XX, errors $LOAD_ERRS; stored $orders;" \
      "CPU core-s: system $sys_s, PostgreSQL $pg_s, broker $brk_s, wrk $WRK_CPU, irq $irq, foreign $foreign;" \
      "µs/order: system $svc_us, PostgreSQL $pg_us, broker $brk_us; backlog $backlog ms; $c2c; audit $ok ($audit)"
  if [[ $failover == 1 ]]; then
    local gap gap_end
    gap=$(field "$w" max_gap_ms); gap_end=$(field "$w" max_gap_end_ms)
    FAILOVER_LINE="$FAILOVER_LINE max_gap_ms=$gap gap_ended_after_kill_ms=$(( gap_end - KILLED_AT_MS )) gap_started_after_kill_ms=$(( gap_end - gap - KILLED_AT_MS )) audit=$ok republished=$(field "$audit" republished) orders=$orders"
    log "failover: $FAILOVER_LINE"
  fi
}

# kill_leader_during_load T0: at T0 + KILL_AT s, SIGKILL the instance whose /readyz says
# relay.role leader, stop the wrk that loaded it (its connections would only spin on refused
# connects; a load balancer would take the instance out), then poll the others' /readyz (one curl
# each, every 20 ms plus the curls' time) until one is leader with its relay connected.
KILLED_AT_MS=0
kill_leader_during_load() {
  local t0=$1 now i idx="" pid k url new="" role
  now=$(date +%s%3N)
  (( t0 + KILL_AT * 1000 > now )) && sleep "$(awk -v d=$(( t0 + KILL_AT * 1000 - now )) 'BEGIN { printf "%.3f", d / 1000 }')"
  for i in "${!SVC_URLS[@]}"; do
    [[ $(readyz_field "${SVC_URLS[$i]}" 'r["relay"]["role"]') == leader ]] && { idx=$i; break; }
  done
  [[ -n $idx ]] || die "failover: no instance says it is the relay leader"
  pid=${SVC_PIDS[$idx]}
  kill -KILL "$pid"
  KILLED_AT_MS=$(date +%s%3N)
  # WRK_PIDS are /usr/bin/time's, which ignores SIGINT while it waits: signal its child, wrk
  # (SIGINT: wrk stops, prints its summary and runs done()).
  kill -INT "$(pgrep -P "${WRK_PIDS[$idx]}" | head -1)" 2>/dev/null || true
  log "failover: SIGKILL to the relay leader, instance #$((idx + 1)) (pid $pid), $(( KILLED_AT_MS - t0 )) ms into the load"
  for ((k = 0; k < 1500; k++)); do
    for i in "${!SVC_URLS[@]}"; do
      [[ $i == "$idx" ]] && continue
      # grep first: one curl per poll, python only for a leader
      curl -s -m 1 "${SVC_URLS[$i]}/readyz" 2>/dev/null | grep -q '"role":"leader"' || continue
      role=$(readyz_field "${SVC_URLS[$i]}" 'r["relay"]["role"] + "/" + r["relay"]["state"]')
      [[ $role == leader/connected ]] && { new=$i; break 2; }
    done
    sleep 0.02
  done
  [[ -n $new ]] || die "failover: no new connected leader within 30 s"
  local at
  at=$(date +%s%3N)
  FAILOVER_LINE="killed_instance=$((idx + 1)) new_leader=$((new + 1)) new_leader_ms=$(( at - KILLED_AT_MS )) killed_after_ms=$(( KILLED_AT_MS - t0 ))"
  log "failover: instance #$((new + 1)) leads (relay connected) $(( at - KILLED_AT_MS )) ms after the kill"
}

# ------------------------------------------------------------------------------------------------
# 2. The peer: its own database and vhost on the same servers.

if [[ $PEER == 1 ]]; then
  PEER_SRC=$(cd "${E2E_PEER_SRC:-$REPO/../shared/peer-node}" && pwd) || die "no ../shared/peer-node"
  PEER_DIR=${E2E_PEER_DIR:-$REPO/build/e2e/peer-node}
  copy_peer "$PEER_SRC" "$PEER_DIR"
  PEER_HTTP_PORT=""
  for p in 8192 8194 8196 8198; do port_free "$p" && { PEER_HTTP_PORT=$p; break; }; done
  [[ -n $PEER_HTTP_PORT ]] || die "no free port for the peer (tried 8192-8198)"
  pg_admin -c "CREATE DATABASE peer OWNER bench"
  curl -sf -u guest:guest -H 'content-type: application/json' -X PUT "$MGMT/vhosts/peer" >/dev/null || die "cannot create the vhost peer"
  curl -sf -u guest:guest -H 'content-type: application/json' -X PUT "$MGMT/permissions/peer/guest" \
    -d '{"configure":".*","write":".*","read":".*"}' >/dev/null || die "cannot grant guest the vhost peer"
  P_AMQP_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/peer"
  mkdir -p "$PEER_DEPS_DIR"
  PEER_STARTED=1
  log "building and starting the peer on :$PEER_HTTP_PORT (database peer, vhost peer)"
  env PEER_DEPS_DIR="$PEER_DEPS_DIR" DATABASE_URL="postgres://bench@127.0.0.1:$PG_PORT/peer" \
    AMQP_URL="$P_AMQP_URL" PORT="$PEER_HTTP_PORT" LOG_LEVEL=warn "$PEER_DIR/run-peer.sh" >&2
  P_URL="http://127.0.0.1:$PEER_HTTP_PORT"
  functional_check peer "$P_URL" none "$P_AMQP_URL"
  measure P "peer" peer "$P_AMQP_URL" 0 "$P_URL"
  stop_pid "$(cat "$PEER_DEPS_DIR/peer.pid")" 20
fi

# ------------------------------------------------------------------------------------------------
# 3.-5. The service: 1 instance, 3 instances, 3 instances with the leader killed.

start_instances 1 svc1
functional_check service "${SVC_URLS[0]}" required "$AMQP_URL"
measure S "1 instance" svc1 "$AMQP_URL" 0 "${SVC_URLS[@]}"
stop_instances

start_instances 3 svc3 "$WRITERS3"
functional_check service "${SVC_URLS[2]}" required "$AMQP_URL"   # through a follower
measure S "3 instances" svc3 "$AMQP_URL" 0 "${SVC_URLS[@]}"
stop_instances

if [[ $FAILOVER == 1 ]]; then
  start_instances 3 svc3f "$WRITERS3"
  measure S "3 instances, leader killed" svc3f "$AMQP_URL" 1 "${SVC_URLS[@]}"
  stop_instances
fi

# ------------------------------------------------------------------------------------------------
# Report

RMQ_VERSION=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo "?")
ERLANG_VERSION=$(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null || echo "?")
VERSIONS="PostgreSQL $PG_VERSION, RabbitMQ $RMQ_VERSION, Erlang $ERLANG_VERSION, $( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}')"
[[ $PEER == 1 ]] && VERSIONS="$VERSIONS, Node $(node --version)"
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo "+local changes")
row() { awk -F'\t' -v n="$1" -v k="$2" '$1 == n { print $k }' "$RESULTS"; }
# The targets compare confirmed orders/s (3 events each confirmed, over load + drain): the peer
# answers after its confirms, the service before them, so its answered rate alone says nothing
# about the events.
R_PEER=$(row peer 28); R_1=$(row "1 instance" 28); R_3=$(row "3 instances" 28)

SECTION=$WORK/section.md
{
  echo "## Scale out: 1 and 3 instances on PostgreSQL, relay on"
  echo
  echo "HTTP → durable PostgreSQL group commit → outbox relay (one leader by a fenced lease) → RabbitMQ publisher confirm, measured by \`bench/e2e/run_scale_out_bench.sh\` (issue 13) in one run on one private PostgreSQL $PG_VERSION (fsync and synchronous_commit on, everything over TCP to 127.0.0.1) and one private RabbitMQ node."
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line); $VERSIONS; load average (1/5/15 min) $LOAD_AT_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "- Command: \`$COMMAND\`; service at $COMMIT (RelWithDebInfo, release preset)."
  echo "- Load: wrk, keep-alive, ${DURATION} s per level, $CLIENTS connections, \`bench/e2e/create_order.lua\` (via create_order_quantiles.lua), the same script for all; each level on a fresh database$([[ $WARMUP -gt 0 ]] && echo ", after a ${WARMUP} s warm-up at 16 clients (discarded)"). With 3 instances one wrk per instance ($((CLIENTS / 3))-$((CLIENTS / 3 + (CLIENTS % 3 > 0))) connections each); orders/s is their sum, and the latency columns are **merged** over all requests of the three (each wrk dumps its latency at every 0.1 % quantile, \`bench/e2e/merge_latencies.py\` pools them weighted by request count)."
  echo "- Limit: pgbench on the same server in the same run, a one-row 1 KB insert per transaction (one durable commit per request), $CLIENTS clients, ${PGBENCH_SECONDS} s: **$PGBENCH_TPS commits/s** (latency $PGBENCH_LAT ms; PostgreSQL $PGBENCH_PG_US µs CPU per commit)."
  if [[ $PEER == 1 ]]; then
    echo "- Peer: \`../shared/peer-node\` (the seed's design: NestJS + pg pool of 10 + amqplib ConfirmChannel; INSERT, then 3 publishes each awaited until confirmed; LOG_LEVEL=warn) on the **same** PostgreSQL (database \`peer\`) and the same broker (vhost \`peer\`, its own order.events and bench.all). Its \`start-deps.sh\` always boots servers of its own and cannot point at existing ones, so the script starts only the peer (\`run-peer.sh\` with DATABASE_URL / AMQP_URL)."
  fi
  echo "- Service: relay on (inbound consumers on, idle), \`bench/e2e/topology.json\` (one quorum queue bench.all bound to all 13 types), --relay-lease-ttl-ms 3000 (default), at most 4 writer connections (--database-writers, default; one commits what is queued, the others join only while it falls behind) per instance$([[ -n $WRITERS3 ]] && echo " in the 1-instance level and at most $WRITERS3 per instance in the 3-instance levels")."
  echo
  echo "| level | instances | orders/s answered | orders/s confirmed | events/s confirmed | p50 ms | p90 ms | p99 ms | max ms | non-2xx / errors | orders stored | backlog ms | late rows | confirm timeouts | commit→confirm p50 ms | commit→confirm p99 ms | system core-s | PostgreSQL core-s | broker core-s | wrk core-s | foreign | µs/order system / PG / broker | audit |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s%s |\n",
      ($2 == "P" ? "peer (Node.js)" : "**Order Service**, " $1), ($2 == "P" ? 1 : $3), $5, $28, $6, $7, $8, $9, $10, $11, $12, $13,
      $23, $29, $30, $25, $26, $14, $15, $16, $17, $19, $20, $21, $22, $24, ($27 + 0 > 0 ? ", " $27 " republished" : "") }' "$RESULTS"
  echo
  if [[ $FAILOVER == 1 ]]; then
    echo "- **Failover** (level \"leader killed\": 3 instances, SIGKILL to the instance whose /readyz says relay.role leader, $(field "$FAILOVER_LINE" killed_after_ms) ms into the load; the wrk of that instance stopped with it, the other two kept loading): a new leader with its relay connected (the survivors' /readyz polled back to back, ~20-50 ms apart) **$(field "$FAILOVER_LINE" new_leader_ms) ms** after the kill; the longest stretch without a new message in bench.all (queue depth polled every 5 ms during the load) **$(field "$FAILOVER_LINE" max_gap_ms) ms**, from $(field "$FAILOVER_LINE" gap_started_after_kill_ms) ms to $(field "$FAILOVER_LINE" gap_ended_after_kill_ms) ms after the kill; audit: $(field "$FAILOVER_LINE" audit), every one of the $(field "$FAILOVER_LINE" orders) stored orders has its 3 events, $(field "$FAILOVER_LINE" republished) messages came twice with the same messageId (the dead leader's confirmed-but-unmarked rows, published again: at least once)."
  fi
  echo
  echo "How to read it: orders/s answered = wrk's responses per second (summed over the wrk processes); events/s confirmed = 3 × orders stored ÷ (load + drain until the last event was in the queue), orders/s confirmed = that ÷ 3: the rate at which orders are stored **and** their events confirmed, which the targets compare (the peer answers after its confirms, the service before them); late rows = rows the relay found below its cursor (relay.lateRows on /readyz, summed over the instances: ids committed out of order by concurrent batches; found after every fetch and by the periodic sweep, docs/scaling.md \"Late rows\"; not for the failover level, whose killed instance takes its count with it); confirm timeouts = the relay's warnings \"no confirm within 5000 ms\"; commit→confirm = the service's histogram \`order_outbox_commit_to_confirm_seconds\` (event timestamp, set just before its commit, to the broker's confirm), bucket deltas over the level summed over the instances, quantile interpolated within the bucket as Prometheus' histogram_quantile does, the bucket in brackets (not measured for the peer or the failover level); CPU columns are core-seconds from /proc (utime+stime, children included) from the start of the load until the last event was in the queue: system = the service instances (or the peer), PostgreSQL = the postmaster and its backends, broker = the RabbitMQ process group (the peer's vhost too); foreign = machine busy time none of those explain (in the failover level the killed instance's CPU is not counted and shows up as foreign). Backlog = wrk's exit until bench.all held 3 × orders stored. Audit = every stored order has exactly its 3 events in bench.all (by messageType/partitionKey from the bodies, AMQP properties and the service's headers checked), none unknown, no extra events; for the service a second copy with the same messageId is allowed and counted (\"republished\": the relay publishes at least once, again after a failover or after a confirm timeout, i.e. no confirm within 5 s, which republishes the unconfirmed window; consumers drop them by messageId)."
} >"$SECTION"

TARGETS=$WORK/targets.txt
{
  verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
  r=$(awk -v a="$R_3" -v b="$R_1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "$(verdict "$r >= 1") 3 instances at least as fast as 1 — $R_3 vs $R_1 confirmed orders/s = $r x (answered: $(row "3 instances" 5) vs $(row "1 instance" 5))"
  if [[ $PEER == 1 ]]; then
    for lv in "1 instance" "3 instances"; do
      v=$(row "$lv" 28)
      r=$(awk -v a="$v" -v b="$R_PEER" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      ra=$(awk -v a="$(row "$lv" 5)" -v b="$(row peer 5)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      echo "$(verdict "$r >= 3") $lv >= 3x the peer at $CLIENTS clients — $v vs $R_PEER confirmed orders/s = $r x (answered: $(row "$lv" 5) vs $(row peer 5) = $ra x)"
    done
  else
    echo "SKIP >= 3x the peer — --no-peer"
  fi
  bad=$(awk -F'\t' '$24 != "ok" { printf "%s%s", (n++ ? ", " : ""), $1 }' "$RESULTS")
  echo "$( [[ -z $bad ]] && echo PASS || echo FAIL ) every stored order's 3 events in the queue after every level$([[ -n $bad ]] && echo " — failed: $bad")"
  for lv in "1 instance" "3 instances"; do
    echo "INFO $lv: $(row "$lv" 28) confirmed / $(row "$lv" 5) answered orders/s = $(awk -v a="$(row "$lv" 28)" -v b="$PGBENCH_TPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') / $(awk -v a="$(row "$lv" 5)" -v b="$PGBENCH_TPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') x pgbench's $PGBENCH_TPS durable commits/s on the same server"
  done
} >"$TARGETS"
{
  echo
  echo "Targets (issue 13):"
  echo
  sed 's/^/- /' "$TARGETS"
} >>"$SECTION"

echo
cat "$SECTION"
echo
cat "$TARGETS"
if [[ $DOC == 1 ]]; then
  python3 bench/update_benchmarks_doc.py docs/benchmarks.md scale-out "$SECTION"
  log "wrote the scale-out section of docs/benchmarks.md"
fi
