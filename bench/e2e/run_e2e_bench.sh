#!/usr/bin/env bash
# End to end under load (issue 10): POST /v1/orders with the relay ON, i.e. HTTP -> durable SQLite
# group commit -> outbox relay -> RabbitMQ publisher confirm, on a fresh private broker, at 1, 16
# and 64 clients (wrk + bench/e2e/create_order.lua). After each level it checks, on the broker,
# that every order the service stored got its 3 events into the quorum queue bench.all (bound to
# all 13 types by bench/e2e/topology.json) and how long after the load stopped the last one
# arrived (the backlog). In the same run, on the same broker: the raw limit, a rabbitmq-c
# publisher pipelining 1,024 unconfirmed persistent messages with the relay's properties, headers
# and the run's mean body size (relay_bench --raw-only), before and after the levels.
#
# With --peer it also runs the seed design's Node.js implementation (../shared/peer-node: NestJS,
# PostgreSQL, one awaited confirm per event) against its own PostgreSQL + RabbitMQ, interleaved
# with the service (S1, P1, S16, P16, S64, P64) under the same Lua, and prints service/peer.
#
# Prints a Markdown section (and PASS/FAIL lines for the issue's targets) and, unless --no-doc,
# writes it into docs/benchmarks.md between <!-- bench:e2e:begin --> and <!-- bench:e2e:end -->.
#
#   bench/e2e/run_e2e_bench.sh [--peer] [--levels "1 16 64"] [--duration 15] [--warmup 5]
#       [--raw-messages 60000] [--no-half-load] [--callgrind ORDERS] [--quiet-wait]
#       [--no-build] [--keep-work] [--no-doc]
#
#   --levels       client counts, in order; repeat one to measure it again ("1 16 64 64 64")
#   --duration     seconds per level (wrk -d); --warmup seconds at 16 clients first (0: none)
#   --raw-messages messages per raw-publisher run (two runs: before and after the levels)
#   --no-half-load skip the latency phase at half the highest measured orders/s
#   --callgrind N  afterwards, N orders through a second service under valgrind --tool=callgrind
#                  (relay on, then relay off): instructions per order, top functions
#   --quiet-wait   before each level wait (<= 2 min) until the machine is < 10 % busy
#   --keep-work    keep the temporary directory (logs, databases, wrk output)
#
# Everything it starts (brokers, PostgreSQL, the peer, the service) it stops in its EXIT trap, by
# the PIDs it recorded. Needs root for --peer (PostgreSQL runs as the postgres user).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
COMMAND="bench/e2e/run_e2e_bench.sh${*:+ $*}"

# ------------------------------------------------------------------------------------------------
# Options

LEVELS="1 16 64"
DURATION=15
WARMUP=5
RAW_MESSAGES=60000
PEER=0
DOC=1
HALF_LOAD=1
CALLGRIND=0
QUIET_WAIT=0
BUILD=1
KEEP_WORK=0
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --levels) LEVELS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --raw-messages) RAW_MESSAGES=${2:?}; shift 2 ;;
    --peer) PEER=1; shift ;;
    --no-doc) DOC=0; shift ;;
    --no-half-load) HALF_LOAD=0; shift ;;
    --callgrind) CALLGRIND=${2:?}; shift 2 ;;
    --quiet-wait) QUIET_WAIT=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run_e2e_bench: unknown option '$1'" >&2; usage ;;
  esac
done
for n in $LEVELS "$DURATION" "$WARMUP" "$RAW_MESSAGES" "$CALLGRIND"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "run_e2e_bench: '$n' is not a whole number" >&2; exit 2; }
done
[[ -n "${LEVELS// }" && $DURATION -gt 0 ]] || { echo "run_e2e_bench: need levels and a duration" >&2; exit 2; }

BUILD_DIR=$REPO/build/release
# The bench measures the pipeline, not authentication (docs/benchmarks.md has the auth cost):
# --auth none unless E2E_SERVICE_AUTH_ARGS says otherwise (set it empty for a baseline build that
# predates --auth).
SERVICE_BIN=${E2E_SERVICE_BIN:-$BUILD_DIR/src/main/order-service}
SERVICE_AUTH_ARGS=${E2E_SERVICE_AUTH_ARGS---auth none}  # E2E_SERVICE_BIN: measure another build (e.g. a baseline)
AUDIT_BIN=$BUILD_DIR/bench/e2e/e2e_audit
RAW_BIN=$BUILD_DIR/bench/relay_bench
LUA=$REPO/bench/e2e/create_order.lua
TOPOLOGY=$REPO/bench/e2e/topology.json
QUEUE=bench.all
HZ=$(getconf CLK_TCK)
export E2E_LUA_DIR=$REPO/bench/e2e   # for create_order_paced.lua (it dofile()s ours)

BENCH_NAME=run_e2e_bench
# log, die, alive, stop_pid, snapshot, diff_secs, wait_quiet, field, port_free,
# start_private_broker, stop_epmd_if_ours, start_service, functional_check, run_wrk
# shellcheck source=bench/lib/e2e_common.sh
. "$REPO/bench/lib/e2e_common.sh"

need=(wrk sqlite3 curl python3 /usr/bin/time ss)
[[ $PEER == 1 ]] && need+=(node npm jq psql runuser)
[[ $CALLGRIND -gt 0 ]] && need+=(valgrind callgrind_control callgrind_annotate)
for t in "${need[@]}"; do command -v "$t" >/dev/null || die "'$t' is not installed"; done

# ------------------------------------------------------------------------------------------------
# Cleanup: stop what we started, by recorded PID, in reverse order.

WORK=$(mktemp -d /tmp/e2e-bench-XXXXXX)
chmod 755 "$WORK"            # PostgreSQL (user postgres) must traverse it for the peer's data dir
SVC_PID=""                   # the service under test
CG_PID=""                    # the service under valgrind (--callgrind)
STARTED_PID=""               # the last service start_service launched
WATCH_PID=""                 # a backlog probe in the background
BROKER_DIR=$WORK/rmq         # the service's broker (scripts/rabbitmq-local.sh --dir)
BROKER_STARTED=0
PEER_STARTED=0               # start-deps.sh was called (it may have failed half-way)
EPMD_BEFORE=$(pgrep -x epmd | head -1 || true)   # epmd is stopped at the end only if we caused it

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_pid "$WATCH_PID" 2
  stop_pid "$CG_PID" 120       # callgrind writes its profile on exit: give it time
  stop_pid "$SVC_PID" 20
  stop_pid "$STARTED_PID" 120  # one that start_service launched but that failed to come up
  if [[ $BROKER_STARTED == 1 ]]; then
    bash scripts/rabbitmq-local.sh stop --dir "$BROKER_DIR" >&2
  fi
  if [[ $PEER_STARTED == 1 ]]; then
    if [[ -e "$PEER_DEPS_DIR/deps.env" ]]; then
      KEEP_DEPS_DIR=1 peer_env "$PEER_DIR/stop-deps.sh" >&2
    else
      # start-deps.sh failed before writing deps.env: stop what it may have booted, by its pid files
      local pgpid rmqpid
      pgpid=$(head -1 "$PEER_DEPS_DIR/pg/data/postmaster.pid" 2>/dev/null)
      rmqpid=$(cat "$PEER_DEPS_DIR/rmq/rabbitmq.pid" 2>/dev/null)
      stop_pid "$(cat "$PEER_DEPS_DIR/peer.pid" 2>/dev/null)" 20
      stop_pid "$rmqpid" 30
      [[ -n "$pgpid" ]] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl \
        -D "$PEER_DEPS_DIR/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1
    fi
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
  log "building order-service, e2e_audit, relay_bench (release preset)"
  cmake --preset release >/dev/null
  cmake --build --preset release -j2 --target order-service e2e_audit relay_bench >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
for b in "$SERVICE_BIN" "$AUDIT_BIN" "$RAW_BIN"; do [[ -x $b ]] || die "$b is missing (build it, or drop --no-build)"; done

# ------------------------------------------------------------------------------------------------
# The service's broker: a private node on a free port (start_private_broker).

start_private_broker "$BROKER_DIR"

# ------------------------------------------------------------------------------------------------
# The service, relay on, on its own broker with the bench topology.

SVC_DB=$WORK/orders.db
log "starting order-service (relay on) with bench/e2e/topology.json"
start_service "sqlite:$SVC_DB" "$WORK/service.log"
SVC_PID=$STARTED_PID
SVC_URL=$STARTED_URL

svc_max_rowid() { sqlite3 "$SVC_DB" "SELECT COALESCE(MAX(rowid), 0) FROM orders"; }
svc_pending() { sqlite3 "$SVC_DB" "SELECT COUNT(*) FROM outbox_publication WHERE published_at IS NULL"; }

functional_check service "$SVC_URL" required "$AMQP_URL"

# ------------------------------------------------------------------------------------------------
# The peer (--peer): a persistent copy of ../shared/peer-node (keeps node_modules between runs),
# its own PostgreSQL + RabbitMQ on ports nobody else uses here, started by its own scripts.

PEER_DIR=${E2E_PEER_DIR:-$REPO/build/e2e/peer-node}
PEER_DEPS_DIR=$WORK/peer-deps
PEER_PG_PORT=5491 PEER_RMQ_PORT=5691 PEER_HTTP_PORT=8092
PEER_LOG_LEVEL=${E2E_PEER_LOG_LEVEL:-warn}   # README: no measurable difference vs. "log"
peer_env() {
  env PEER_DEPS_DIR="$PEER_DEPS_DIR" PG_PORT="$PEER_PG_PORT" RMQ_PORT="$PEER_RMQ_PORT" \
    RMQ_DIST_PORT=$((PEER_RMQ_PORT + 20000)) RMQ_MGMT_PORT=$((PEER_RMQ_PORT + 10000)) \
    RMQ_NODE="rabbit-e2epeer-$PEER_RMQ_PORT@localhost" PORT="$PEER_HTTP_PORT" \
    LOG_LEVEL="$PEER_LOG_LEVEL" "$@"
}
if [[ $PEER == 1 ]]; then
  [[ $(id -u) == 0 ]] || die "--peer needs root (PostgreSQL is started as the postgres user)"
  PEER_SRC=$(cd "${E2E_PEER_SRC:-$REPO/../shared/peer-node}" && pwd) || die "no ../shared/peer-node"
  for k in 0 2 4 6 8; do   # the first set of free ports (not the peer's defaults: a manual run may use them)
    if port_free $((5491 + k)) && port_free $((5691 + k)) && port_free $((15691 + k)) \
       && port_free $((25691 + k)) && port_free $((8092 + k)); then
      PEER_PG_PORT=$((5491 + k)) PEER_RMQ_PORT=$((5691 + k)) PEER_HTTP_PORT=$((8092 + k)); break
    fi
    [[ $k == 8 ]] && die "no free ports for the peer"
  done
  copy_peer "$PEER_SRC" "$PEER_DIR"
  PEER_STARTED=1
  log "starting the peer's PostgreSQL (:$PEER_PG_PORT) and RabbitMQ (:$PEER_RMQ_PORT)"
  peer_env "$PEER_DIR/start-deps.sh" >&2
  log "building and starting the peer on :$PEER_HTTP_PORT (LOG_LEVEL=$PEER_LOG_LEVEL; npm ci needs the registry on the first run)"
  peer_env "$PEER_DIR/run-peer.sh" >&2
  peer_env "$PEER_DIR/verify.sh" "http://127.0.0.1:$PEER_HTTP_PORT" >"$WORK/peer-verify.log" 2>&1 \
    || { cat "$WORK/peer-verify.log" >&2; die "the peer's verify.sh failed"; }
  log "peer verify.sh passed"
  # deps.env: PG_PID PGDATA RMQ_PID RMQ_DIR RMQ_NODE EPMD_PID DATABASE_URL AMQP_URL RMQ_MGMT_URL
  P_PG_PID=$(sed -n 's/^PG_PID=//p' "$PEER_DEPS_DIR/deps.env")
  P_RMQ_PID=$(sed -n 's/^RMQ_PID=//p' "$PEER_DEPS_DIR/deps.env")
  P_DB_URL=$(sed -n 's/^DATABASE_URL=//p' "$PEER_DEPS_DIR/deps.env")
  P_PID=$(cat "$PEER_DEPS_DIR/peer.pid")
  P_AMQP_URL="amqp://guest:guest@127.0.0.1:$PEER_RMQ_PORT/%2F"
  P_URL="http://127.0.0.1:$PEER_HTTP_PORT"
  functional_check peer "$P_URL" none "$P_AMQP_URL"
fi

# ------------------------------------------------------------------------------------------------
# Warm-up (discarded): JIT, caches, the brokers' queues, SQLite's pages.

if [[ $WARMUP -gt 0 ]]; then
  log "warm-up: ${WARMUP} s at 16 clients on the service"
  run_wrk "$SVC_URL" 16 "$WARMUP" "$WORK/warmup.S"
  for ((i = 0; i < 600; i++)); do [[ $(svc_pending) == 0 ]] && break; sleep 0.1; done
  "$AUDIT_BIN" purge --amqp-url "$AMQP_URL" --queue "$QUEUE" >/dev/null
  if [[ $PEER == 1 ]]; then
    log "warm-up: ${WARMUP} s at 16 clients on the peer"
    run_wrk "$P_URL" 16 "$WARMUP" "$WORK/warmup.P"
    sleep 1
    "$AUDIT_BIN" purge --amqp-url "$P_AMQP_URL" --queue "$QUEUE" >/dev/null
  fi
fi
# The raw publisher sends this run's mean event body size (bytes).
BODY_SIZE=$(sqlite3 "$SVC_DB" "SELECT CAST(ROUND(AVG(LENGTH(CAST(body AS BLOB)))) AS INTEGER) FROM outbox")
[[ $BODY_SIZE =~ ^[0-9]+$ && $BODY_SIZE -gt 0 ]] || BODY_SIZE=1024

# ------------------------------------------------------------------------------------------------
# The raw limit on the service's broker: broker CPU per message when a raw rabbitmq-c publisher
# pipelines 1,024 unconfirmed persistent messages (same properties, headers, body size, queue).

declare -A RAW
raw_run() { # N -> RAW[$N.*]
  local n=$1 s0 s1 line
  wait_quiet
  s0=$(snapshot "pgrp:$BROKER_PGID")
  line=$("$RAW_BIN" --raw-only "$RAW_MESSAGES" --amqp-url "$AMQP_URL" --exchange order.events \
    --size "$BODY_SIZE" --window 1024 2>"$WORK/raw.$n.log") || { cat "$WORK/raw.$n.log" >&2; die "raw publisher failed"; }
  s1=$(snapshot "pgrp:$BROKER_PGID")
  RAW[$n.rate]=$(field "$line" msg_per_s)
  RAW[$n.broker_s]=$(diff_secs "$s0" "$s1" 1)
  RAW[$n.pub_s]=$(field "$line" publisher_cpu_s)
  RAW[$n.us]=$(awk -v s="${RAW[$n.broker_s]}" -v m="$RAW_MESSAGES" 'BEGIN { printf "%.1f", s * 1e6 / m }')
  log "raw #$n: ${RAW[$n.rate]} msg/s, broker ${RAW[$n.broker_s]} core-s = ${RAW[$n.us]} µs/msg, publisher ${RAW[$n.pub_s]} s ($line)"
  # Purged outside any measured window; give the broker a moment to drop the segments.
  "$AUDIT_BIN" purge --amqp-url "$AMQP_URL" --queue "$QUEUE" >/dev/null
  sleep 2
}
if [[ $RAW_MESSAGES -gt 0 ]]; then raw_run 1; fi

# ------------------------------------------------------------------------------------------------
# One measured level. SYS is S (service) or P (peer).
#   - CPU snapshots before the load, when wrk exits, and when the last event is in the queue;
#     core-seconds and the per-order / per-event figures cover load + drain (the work the load
#     caused), the backlog probe's polls during the drain included (one passive declare / 2 ms).
#   - The backlog probe starts polling at the planned end of the load (start + duration, a bit
#     before wrk really stops) and records when the count changed; the backlog is the time from
#     wrk's exit to the first poll that saw 3 x the stored orders (0: they were all in before).
#   - Orders = what the system stored (wrk's count plus requests in flight when it stopped).

RESULTS=$WORK/results.tsv
: >"$RESULTS"
LEVEL_NO=0
# The relay's attribution counters from /readyz: sent bursts lingered markCalls published.
relay_counters() {
  curl -s "$SVC_URL/readyz" | python3 -c 'import json,sys; r = json.load(sys.stdin)["relay"]; print(*(r.get(k, 0) for k in ("sent", "bursts", "lingered", "markCalls", "published")))' 2>/dev/null || echo "0 0 0 0 0"
}
measure() { # SYS CLIENTS
  local sys=$1 c=$2 url amqp spec mark t0 stop s0 s1 s2 orders prev i w ids audit rc reached backlog
  LEVEL_NO=$((LEVEL_NO + 1))
  local tag="$LEVEL_NO.$sys$c"
  if [[ $sys == S ]]; then
    url=$SVC_URL; amqp=$AMQP_URL; spec="tree:$SVC_PID pgrp:$BROKER_PGID tree:0"
    mark=$(svc_max_rowid)
  else
    url=$P_URL; amqp=$P_AMQP_URL; spec="tree:$P_PID tree:$P_RMQ_PID tree:$P_PG_PID"
    mark=$(psql "$P_DB_URL" -Atc "SELECT now()")
  fi
  wait_quiet
  rm -f "$WORK/expect.$tag"
  t0=$(date +%s%3N)
  stop=$((t0 + DURATION * 1000))
  "$AUDIT_BIN" watch --amqp-url "$amqp" --queue "$QUEUE" --expect-file "$WORK/expect.$tag" \
    --start-at-ms "$stop" --timeout-s 60 >"$WORK/watch.$tag" 2>&1 &
  WATCH_PID=$!
  local r0="" r2=""
  [[ $sys == S ]] && r0=$(relay_counters)
  # shellcheck disable=SC2086  # spec is a word list
  s0=$(snapshot $spec)
  run_wrk "$url" "$c" "$DURATION" "$WORK/wrk.$tag"
  # shellcheck disable=SC2086
  s1=$(snapshot $spec)
  # Requests in flight when wrk closed its connections still complete: count until stable.
  prev=-1
  for ((i = 0; i < 50; i++)); do
    if [[ $sys == S ]]; then
      orders=$(sqlite3 "$SVC_DB" "SELECT COUNT(*) FROM orders WHERE rowid > $mark")
    else
      orders=$(psql "$P_DB_URL" -Atc "SELECT COUNT(*) FROM orders WHERE created_at > '$mark'")
    fi
    [[ $orders == "$prev" ]] && break
    prev=$orders; sleep 0.2
  done
  echo $((3 * orders)) >"$WORK/expect.$tag"
  set +e; wait "$WATCH_PID"; rc=$?; set -e
  WATCH_PID=""
  # shellcheck disable=SC2086
  s2=$(snapshot $spec)
  [[ $sys == S ]] && r2=$(relay_counters)
  w=$(grep '^WATCH' "$WORK/watch.$tag" || true)
  reached=$(field "$w" reached_ms)
  if [[ $rc != 0 || -z $reached || $reached == -1 ]]; then
    backlog="timeout"
  else
    backlog=$((reached - WRK_END_MS)); (( backlog < 0 )) && backlog=0
  fi
  ids=$WORK/ids.$tag
  if [[ $sys == S ]]; then
    sqlite3 "$SVC_DB" "SELECT order_id FROM orders WHERE rowid > $mark" >"$ids"
    audit=$("$AUDIT_BIN" audit --amqp-url "$amqp" --queue "$QUEUE" --orders "$ids" --headers required 2>>"$WORK/audit.log") || true
  else
    psql "$P_DB_URL" -Atc "SELECT id FROM orders WHERE created_at > '$mark'" >"$ids"
    audit=$("$AUDIT_BIN" audit --amqp-url "$amqp" --queue "$QUEUE" --orders "$ids" --headers none 2>>"$WORK/audit.log") || true
  fi
  local ok="FAIL"
  if [[ $(field "$audit" orders_ok) == "$orders" && $(field "$audit" orders_missing_events) == 0 \
        && $(field "$audit" duplicates) == 0 && $(field "$audit" unknown_orders) == 0 \
        && $(field "$audit" bad_props) == 0 && $(field "$audit" bad_bodies) == 0 && $orders -gt 0 ]]; then
    ok="ok"
  fi
  # One TSV row: everything the report needs.
  local svc brk pg wrk_s kth busy irq foreign
  svc=$(diff_secs "$s0" "$s2" 1)
  brk=$(diff_secs "$s0" "$s2" 2)
  pg=$(diff_secs "$s0" "$s2" 3)
  kth=$(diff_secs "$s0" "$s2" 4)
  busy=$(diff_secs "$s0" "$s2" 5)
  irq=$(diff_secs "$s0" "$s2" 6)
  wrk_s=$WRK_CPU
  foreign=$(awk -v b="$busy" -v a="$svc" -v r="$brk" -v p="$pg" -v k="$kth" -v i="$irq" -v w="$wrk_s" \
    'BEGIN { f = b - a - r - p - k - i - w; if (f < 0) f = 0; printf "%.2f", f }')
  local req rps p50 p90 p99 max non2xx errs svc_us brk_us
  req=$(field "$WRK_LINE" requests); rps=$(field "$WRK_LINE" rps)
  p50=$(field "$WRK_LINE" p50_ms); p90=$(field "$WRK_LINE" p90_ms)
  p99=$(field "$WRK_LINE" p99_ms); max=$(field "$WRK_LINE" max_ms)
  non2xx=$(field "$WRK_LINE" non2xx)
  errs=$(( $(field "$WRK_LINE" connect_err) + $(field "$WRK_LINE" read_err) + $(field "$WRK_LINE" write_err) + $(field "$WRK_LINE" timeouts) ))
  svc_us=$(awk -v s="$svc" -v n="$orders" 'BEGIN { printf "%.0f", (n > 0 ? s * 1e6 / n : 0) }')
  brk_us=$(awk -v s="$brk" -v n="$orders" 'BEGIN { printf "%.1f", (n > 0 ? s * 1e6 / (3 * n) : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$LEVEL_NO" "$sys" "$c" "$rps" "$p50" "$p90" "$p99" "$max" "$non2xx" "$errs" "$req" "$orders" \
    "$svc" "$brk" "$pg" "$wrk_s" "$irq" "$kth" "$foreign" "$svc_us" "$brk_us" "$backlog" "$ok" \
    "$(field "$audit" messages)" >>"$RESULTS"
  local name; [[ $sys == S ]] && name=service || name=peer
  log "$name c=$c: $rps orders/s, p50 $p50 p90 $p90 p99 $p99 max $max ms, non2xx $non2xx; stored $orders;" \
      "CPU core-s: $name $svc, broker $brk$([[ $sys == P ]] && echo ", postgres $pg"), wrk $wrk_s, irq $irq, foreign $foreign;" \
      "$svc_us µs/order, broker $brk_us µs/event; backlog $backlog ms; audit $ok ($audit)"
  if [[ $sys == S ]]; then
    # shellcheck disable=SC2086  # two lists of five numbers
    awk -v a="$r0" -v b="$r2" -v c="$c" 'BEGIN { split(a, x, " "); split(b, y, " ");
      for (i = 1; i <= 5; i++) d[i] = y[i] - x[i];
      printf "relay c=%s: %d messages in %d bursts (%.1f per write), %d commits lingered, %d rows marked in %d store calls (%.1f per mark)\n",
        c, d[1], d[2], (d[2] > 0 ? d[1] / d[2] : 0), d[3], d[5], d[4], (d[4] > 0 ? d[5] / d[4] : 0) }' | tee -a "$WORK/relay.counters" >&2
  fi
}

for c in $LEVELS; do
  measure S "$c"
  if [[ $PEER == 1 ]]; then measure P "$c"; fi
done

if [[ $RAW_MESSAGES -gt 0 ]]; then raw_run 2; fi

# ------------------------------------------------------------------------------------------------
# Half-load latency (service): paced wrk at half the highest orders/s measured above, with the
# highest level's connections. Commit -> confirm from the service's histogram
# order_outbox_commit_to_confirm_seconds (bucket deltas over the run; 0.02 is a bucket bound, so
# the share of events within 20 ms is exact), and, as before, from its own SQLite rows:
# published_at - occurred_at per event (action time -> the relay's mark after the confirm): an
# upper bound (it adds the commit wait before and the batched mark after).

HALF=""
if [[ $HALF_LOAD == 1 ]]; then
  read -r HALF_C HALF_TARGET < <(awk -F'\t' '$2 == "S" && $4 + 0 > best { best = $4 + 0; c = $3 } END { printf "%d %.0f\n", c, best / 2 }' "$RESULTS")
  if [[ ${HALF_TARGET:-0} -gt 0 ]]; then
    # period per connection = C / rate; wrk's delay() comes after each response (integer ms)
    delay=$(awk -v c="$HALF_C" -v r="$HALF_TARGET" 'BEGIN { d = int(c * 1000 / r + 0.5); print d < 1 ? 1 : d }')
    E2E_DELAY_MS=$delay run_wrk "$SVC_URL" "$HALF_C" 3 "$WORK/half.calibrate" "$REPO/bench/e2e/create_order_paced.lua"
    got=$(field "$WRK_LINE" rps)
    delay=$(awk -v c="$HALF_C" -v r="$HALF_TARGET" -v d="$delay" -v g="$got" \
      'BEGIN { lat = c * 1000 / g - d; if (lat < 0) lat = 0; d = int(c * 1000 / r - lat + 0.5); print d < 1 ? 1 : d }')
    for ((i = 0; i < 600; i++)); do [[ $(svc_pending) == 0 ]] && break; sleep 0.1; done
    "$AUDIT_BIN" purge --amqp-url "$AMQP_URL" --queue "$QUEUE" >/dev/null
    mark_ev=$(sqlite3 "$SVC_DB" "SELECT COALESCE(MAX(id), 0) FROM outbox")
    c2c_scrape "$WORK/half.c2c0" "$SVC_URL"
    log "half load: target $HALF_TARGET orders/s at $HALF_C connections, wrk delay $delay ms, ${DURATION} s"
    E2E_DELAY_MS=$delay run_wrk "$SVC_URL" "$HALF_C" "$DURATION" "$WORK/half.run" "$REPO/bench/e2e/create_order_paced.lua"
    for ((i = 0; i < 600; i++)); do [[ $(svc_pending) == 0 ]] && break; sleep 0.1; done
    c2c_scrape "$WORK/half.c2c1" "$SVC_URL"
    # hist_*: its keys renamed, the SQLite figures below being c2c_*
    half_c2c=$(c2c_quantiles "$WORK/half.c2c0" "$WORK/half.c2c1" | sed 's/c2c_/hist_/g')
    w=$(field "$half_c2c" hist_within_20ms)
    half_c2c+=" hist_within_20ms_pct=$(awk -v w="$w" 'BEGIN { if (w == "-" || w == "") print "-"; else printf "%.2f", w * 100 }')"
    sqlite3 "$SVC_DB" "SELECT p.published_at - o.occurred_at FROM outbox o JOIN outbox_publication p ON p.id = o.id WHERE o.id > $mark_ev AND p.published_at IS NOT NULL ORDER BY 1" >"$WORK/half.ms"
    HALF=$(awk -v rps="$(field "$WRK_LINE" rps)" -v p99h="$(field "$WRK_LINE" p99_ms)" -v p50h="$(field "$WRK_LINE" p50_ms)" '
      function pct(q,   i) { i = int(NR * q + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
      { v[NR] = $1 }
      END {
        if (NR == 0) { print "events=0"; exit }
        printf "rps=%s events=%d c2c_p50_ms=%s c2c_p90_ms=%s c2c_p99_ms=%s c2c_max_ms=%s http_p50_ms=%s http_p99_ms=%s\n",
          rps, NR, pct(0.5), pct(0.9), pct(0.99), v[NR], p50h, p99h
      }' "$WORK/half.ms")
    HALF="target=$HALF_TARGET clients=$HALF_C delay_ms=$delay $HALF $half_c2c"
    log "half load: $HALF"
    "$AUDIT_BIN" purge --amqp-url "$AMQP_URL" --queue "$QUEUE" >/dev/null
  fi
fi

# ------------------------------------------------------------------------------------------------
# --callgrind N: instructions per order (repeatable on a noisy machine). A second service under
# valgrind on the same broker, relay on and then off; counters zeroed after a warm-up, N orders at
# 4 connections (counted in its database), drained, dumped. Under callgrind the
# service runs ~50x slower, so the relay's bursts are bigger than natively: compare runs with
# each other, not with the native µs.

declare -A CG
# wrk in the background until the service has stored at least N more orders, then SIGINT (wrk's
# main thread sleeps for -d whatever its Lua does, so a response-counting script cannot end it).
cg_load() { # URL DB MARK N
  local url=$1 db=$2 mark=$3 n=$4 pid i
  wrk -t1 -c4 -d3600s --timeout 60s -s "$LUA" "$url" >>"$WORK/cg.wrk.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 36000; i++)); do
    (( $(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE rowid > $mark") >= n )) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || true
}
callgrind_run() { # MODE (relay|norelay)
  local mode=$1 extra=() out db mark dump total orders i
  [[ $mode == norelay ]] && extra=(--no-relay)
  out=$WORK/cg.$mode.out
  db=$WORK/cg.$mode.db
  log "callgrind ($mode): starting the service under valgrind"
  SERVICE_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$out --dump-instr=no" \
    start_service "sqlite:$db" "$WORK/cg.$mode.log" "${extra[@]}"
  CG_PID=$STARTED_PID
  cg_drained() {
    [[ $mode == norelay ]] && return 0
    for ((i = 0; i < 1200; i++)); do
      [[ $(sqlite3 "$db" "SELECT COUNT(*) FROM outbox_publication WHERE published_at IS NULL") == 0 ]] && return 0
      sleep 0.2
    done
    die "callgrind ($mode): the relay did not drain"
  }
  cg_load "$STARTED_URL" "$db" 0 50   # warm-up, not counted
  sleep 1; cg_drained
  mark=$(sqlite3 "$db" "SELECT COALESCE(MAX(rowid), 0) FROM orders")
  callgrind_control -z "$CG_PID" >>"$WORK/cg.control.log" 2>&1
  cg_load "$STARTED_URL" "$db" "$mark" "$CALLGRIND"
  sleep 1   # requests abandoned by wrk's stop may still be committing
  cg_drained
  callgrind_control -d "$CG_PID" >>"$WORK/cg.control.log" 2>&1
  orders=$(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE rowid > $mark")
  dump=$out.1   # the first (only) dump on request; $out itself is written at exit
  [[ -f $dump ]] || die "callgrind wrote no dump ($dump)"
  total=$(sed -nE '/^summary:/{s/^summary: *([0-9]+).*/\1/p;q}' "$dump")
  CG[$mode.orders]=$orders
  CG[$mode.ir]=$(awk -v t="$total" -v n="$orders" 'BEGIN { printf "%.0f", (n > 0 ? t / n : 0) }')
  # Two tables per order: the project's own functions (orders::...) by inclusive cost (where the
  # time goes, by component), and every function by self cost (what actually executes).
  # Names are shortened: template arguments and parameter lists dropped.
  # Functions that were on a thread's stack when the counters were zeroed (thread entry points)
  # get their callees' cost as their own in the self view: they are left out of it.
  # shellcheck disable=SC2016  # an awk program, not shell
  local shorten='
    function short(s,   obj, unknown, prev) {
      obj = ""
      if (match(s, / \[[^]]*\]$/)) { obj = substr(s, RSTART + 2, RLENGTH - 3); s = substr(s, 1, RSTART - 1) }
      sub(/ \[clone [^]]*\]/, "", s)
      unknown = s ~ /^\?\?\?:/
      sub(/^[^:]*:/, "", s)
      gsub(/\(anonymous namespace\)/, "{anon}", s)
      gsub(/json_abi_v[0-9_]+::/, "", s)
      do { prev = s; gsub(/<[^<>]*>/, "", s) } while (s != prev)
      sub(/\(.*$/, "", s); sub(/[\x27][0-9]+$/, "", s); gsub(/\|/, "/", s); sub(/ +$/, "", s)
      if (unknown) { sub(/.*\//, "", obj); s = s " in " obj }   # no symbol: say whose code it is
      return s
    }
    $0 ~ /^ *[0-9,]+ +\([0-9. ]+%\) +/ && $0 !~ /PROGRAM TOTALS/ {
      ir = $1; gsub(",", "", ir); line = $0; sub(/^ *[0-9,]+ +\([0-9. ]+%\) +/, "", line)
      name = short(line)
      if (want == "orders" && name !~ /^orders::/) next
      if (want == "all" && name ~ /^(clone|start_thread|std::thread::|0x[0-9a-f]+ in libstdc)/) next
      if (name in seen || k >= 15) next   # read to the end: an early exit would SIGPIPE the writer
      seen[name] = 1; k++
      printf "| %.0f | `%s` |\n", ir / n, name
    }'
  callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | awk -v n="$orders" -v want=orders "$shorten" >"$WORK/cg.$mode.incl"
  callgrind_annotate --threshold=100 "$dump" 2>/dev/null | awk -v n="$orders" -v want=all "$shorten" >"$WORK/cg.$mode.self"
  stop_pid "$CG_PID" 120
  CG_PID=""
  log "callgrind ($mode): $orders orders, ${CG[$mode.ir]} instructions per order"
}
if [[ $CALLGRIND -gt 0 ]]; then
  callgrind_run relay
  "$AUDIT_BIN" purge --amqp-url "$AMQP_URL" --queue "$QUEUE" >/dev/null
  callgrind_run norelay
fi

# ------------------------------------------------------------------------------------------------
# Report

RMQ_VERSION=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo "?")
ERLANG_VERSION=$(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null || echo "?")
VERSIONS="RabbitMQ $RMQ_VERSION, Erlang $ERLANG_VERSION, $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), SQLite $(sqlite3 --version | awk '{print $1}')"
if [[ $PEER == 1 ]]; then
  VERSIONS="$VERSIONS, Node $(node --version), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')"
fi
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo "+local changes")
RAW_US=""; RAW_RATE=""
if [[ $RAW_MESSAGES -gt 0 ]]; then
  RAW_US=$(awk -v a="${RAW[1.us]}" -v b="${RAW[2.us]}" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  RAW_RATE=$(awk -v a="${RAW[1.rate]}" -v b="${RAW[2.rate]}" 'BEGIN { printf "%.0f", (a + b) / 2 }')
fi

SECTION=$WORK/section.md
{
  echo "## End to end: POST /v1/orders with the relay on"
  echo
  echo "HTTP → durable SQLite group commit → outbox relay → RabbitMQ publisher confirm, everything on one machine, measured by \`bench/e2e/run_e2e_bench.sh\` (issue 10)."
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line); $VERSIONS."
  echo "- Command: \`$COMMAND\`; service at $COMMIT (RelWithDebInfo, release preset)."
  echo "- Load: wrk, keep-alive, ${DURATION} s per level, \`bench/e2e/create_order.lua\` (1-3 items, a fresh random userId per request, no response() callback)$([[ $PEER == 1 ]] && echo ", the same script for both systems, levels interleaved service/peer")$([[ $WARMUP -gt 0 ]] && echo "; ${WARMUP} s warm-up at 16 clients per system, discarded")."
  echo "- Service: relay on (inbound consumers on, idle), its own fresh RabbitMQ node (management plugin on), topology \`bench/e2e/topology.json\`: one quorum queue \`bench.all\` bound to all 13 types, behind order.events with its alternate exchange."
  if [[ $PEER == 1 ]]; then
    echo "- Peer: \`../shared/peer-node\` (NestJS + amqplib ConfirmChannel + pg; INSERT, then 3 publishes each awaited until confirmed; LOG_LEVEL=$PEER_LOG_LEVEL), with its own PostgreSQL 15 and RabbitMQ node (management on) started by its \`start-deps.sh\`, \`bench.all\` the same way; checked by its \`verify.sh\` first."
  fi
  echo
  echo "| clients | system | orders/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | orders stored | service/peer core-s | broker core-s | PostgreSQL core-s | wrk core-s | irq+softirq | foreign | CPU µs/order | broker µs/event | backlog ms | audit |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
      $3, ($2 == "S" ? "**Order Service**" : "peer (Node.js)"), $4, $5, $6, $7, $8, $9 + $10, $12,
      $13, $14, ($2 == "S" ? "" : $15), $16, $17, $19, $20, $21, $22, $23 }' "$RESULTS"
  echo
  if [[ $PEER == 1 ]]; then
    echo "| clients | service orders/s | peer orders/s | service / peer | p99 service / peer ms |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '$2 == "S" { s[++ns] = $4; sc[ns] = $3; sp[ns] = $7 } $2 == "P" { p[++np] = $4; pp[np] = $7 }
      END { for (i = 1; i <= ns; i++) if (i <= np && p[i] > 0)
              printf "| %s | %s | %s | **%.2fx** | %s / %s |\n", sc[i], s[i], p[i], s[i] / p[i], sp[i], pp[i] }' "$RESULTS"
    echo
  fi
  if [[ $RAW_MESSAGES -gt 0 ]]; then
    echo "- Raw limit on the service's broker, same run: \`relay_bench --raw-only $RAW_MESSAGES --size $BODY_SIZE --window 1024\` (rabbitmq-c, 1,024 unconfirmed, mandatory, persistent, the relay's properties and 3 headers, $BODY_SIZE-byte bodies = this run's mean event size, to order.events → bench.all): #1 ${RAW[1.rate]} msg/s at ${RAW[1.us]} µs of broker CPU per message, #2 ${RAW[2.rate]} msg/s at ${RAW[2.us]} µs; mean **$RAW_RATE msg/s, $RAW_US µs/msg**."
    awk -F'\t' -v raw="$RAW_US" '$2 == "S" && raw > 0 { printf "%sc=%s %.2fx", (n++ ? ", " : "- Broker CPU per event ÷ raw per message: "), $3, $21 / raw } END { if (n) print "." }' "$RESULTS"
  fi
  if [[ -n $HALF ]]; then
    echo "- Half load (service, paced wrk at $(field "$HALF" target) orders/s = half the best level, $(field "$HALF" clients) connections, ${DURATION} s): $(field "$HALF" rps) orders/s achieved; commit → confirm (the service's histogram \`order_outbox_commit_to_confirm_seconds\`, $(field "$HALF" hist_count) events): **$(field "$HALF" hist_within_20ms_pct) % within 20 ms**, p50 ~$(field "$HALF" hist_p50_ms) ms (bucket $(field "$HALF" hist_p50_bucket)), p99 ~$(field "$HALF" hist_p99_ms) ms (bucket $(field "$HALF" hist_p99_bucket)), interpolated within the bucket; action → confirmed and marked (outbox published_at − occurred_at, an upper bound: it adds the batched mark) over $(field "$HALF" events) events: p50 $(field "$HALF" c2c_p50_ms), p90 $(field "$HALF" c2c_p90_ms), p99 $(field "$HALF" c2c_p99_ms), max $(field "$HALF" c2c_max_ms) ms; HTTP p50 $(field "$HALF" http_p50_ms), p99 $(field "$HALF" http_p99_ms) ms."
  fi
  if [[ $CALLGRIND -gt 0 ]]; then
    echo "- Callgrind (\`--callgrind $CALLGRIND\`, valgrind $(valgrind --version | sed 's/valgrind-//'), a second service instance on the same broker, 4 connections, counters zeroed after 50 warm-up orders, dumped after the drain): **${CG[relay.ir]} instructions per order with the relay on** (${CG[relay.orders]} orders), ${CG[norelay.ir]} with --no-relay (${CG[norelay.orders]} orders); the difference, $(awk -v a="${CG[relay.ir]}" -v b="${CG[norelay.ir]}" 'BEGIN { printf "%.0f", a - b }'), is the relay's share (under callgrind its bursts are bigger than natively)."
    echo
    echo "<details><summary>Where the instructions go, relay on (per order)</summary>"
    echo
    echo "| Ir / order, inclusive | project function |"
    echo "| ---: | --- |"
    cat "$WORK/cg.relay.incl"
    echo
    echo "| Ir / order, self | function |"
    echo "| ---: | --- |"
    cat "$WORK/cg.relay.self"
    echo
    echo "</details>"
  fi
  awk -F'\t' '$19 + 0 > 0.5 { printf "%s%s c=%s (%s)", (n++ ? ", " : "- **Shared machine**: levels with more than 0.5 core-s of foreign CPU (their numbers are low; repeat them on a quiet machine, e.g. with --quiet-wait): "), ($2 == "S" ? "service" : "peer"), $3, $19 } END { if (n) print "." }' "$RESULTS"
  echo
  echo "How to read it: CPU columns are core-seconds from /proc (utime+stime, children included) from the start of the load until the last event of the level was in the queue, so per-order and per-event figures include the drain after the load; broker = the service's RabbitMQ process group, or the peer's RabbitMQ process tree; wrk from /usr/bin/time; foreign = machine busy time none of those explain (the other system idling, other users of this shared machine: a level with more than ~0.5 core-s foreign shared its cores). Orders stored = wrk's responses plus requests in flight when it stopped. Backlog = how long after wrk exited (= when the load stopped, to a ms) the queue's own message count (passive declare, polled every 2 ms) reached 3 × orders stored; 0 = already there. Audit = every stored order has exactly its 3 events (OrderCreatedEvent, OrderConfirmationNotificationRequestedEvent, OrderPlacedForAnalyticsEvent) in bench.all, by messageType and partitionKey from the consumed bodies, no duplicates, no unknown orders, every message's AMQP properties (content type, persistent, message id, type, app id, timestamp, correlation id; for the service also the messageVersion/partitionKey/sequence headers) matching its body."
} >"$SECTION"

# Targets of issue 10. Evaluated at the highest level measured (64 by default).
TOP=$(awk -F'\t' '$2 == "S" && $3 + 0 > t { t = $3 + 0 } END { print t + 0 }' "$RESULTS")
TARGETS=$WORK/targets.txt
{
  top_s() { awk -F'\t' -v c="$TOP" -v k="$1" '$2 == "S" && $3 == c { v = $k } END { print v }' "$RESULTS"; }
  top_p() { awk -F'\t' -v c="$TOP" -v k="$1" '$2 == "P" && $3 == c { v = $k } END { print v }' "$RESULTS"; }
  at=""; [[ $TOP != 64 ]] && at=" (measured at $TOP clients: the target is for 64)"
  verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
  if [[ $PEER == 1 ]]; then
    r=$(awk -v s="$(top_s 4)" -v p="$(top_p 4)" 'BEGIN { printf "%.2f", (p > 0 ? s / p : 0) }')
    echo "$(verdict "$r >= 4") 64 clients, relay on: >= 4x the peer — $r x$at"
  else
    echo "SKIP 64 clients, relay on: >= 4x the peer — needs --peer"
  fi
  p99=$(top_s 7)
  echo "$(verdict "$p99 < 50") 64 clients: p99 < 50 ms — $p99 ms$at"
  worst=$(awk -F'\t' '$2 == "S" { if ($22 == "timeout") t = 1; else if ($22 + 0 > w) w = $22 + 0; if ($23 != "ok") bad++ }
    END { if (t) print "timeout"; else print w + 0; }' "$RESULTS")
  audits=$(awk -F'\t' '$2 == "S" && $23 != "ok" { n++ } END { print n + 0 }' "$RESULTS")
  if [[ $worst == timeout ]]; then
    echo "FAIL every event confirmed within 1 s after the load stops — a level never reached 3 events per order"
  else
    echo "$(verdict "$worst <= 1000 && $audits == 0") every event confirmed within 1 s after the load stops — worst backlog $worst ms over all levels, $audits failed audits"
  fi
  us=$(top_s 20)
  echo "$(verdict "$us <= 150") service CPU per order, relay on, <= 150 µs — $us µs$at"
  if [[ -n $RAW_US ]]; then
    b=$(top_s 21)
    r=$(awk -v b="$b" -v r="$RAW_US" 'BEGIN { printf "%.2f", b / r }')
    echo "$(verdict "$r <= 1.3") broker CPU per event <= 1.3x the raw publisher's — $b / $RAW_US µs = $r x$at"
  else
    echo "SKIP broker CPU per event <= 1.3x raw — --raw-messages 0"
  fi
  one=$(awk -F'\t' '$2 == "S" && $3 == 1 { v = $7 } END { print v }' "$RESULTS")
  if [[ -n $one ]]; then
    echo "$(verdict "$one < 3") 1 client: p99 < 3 ms — $one ms"
  else
    echo "SKIP 1 client: p99 < 3 ms — no 1-client level"
  fi
  if [[ -n $HALF ]]; then
    w=$(field "$HALF" hist_within_20ms)
    if [[ $w == - || -z $w ]]; then
      echo "FAIL commit-to-confirm p99 < 20 ms at half the maximum load — the service's histogram has no 20 ms bound"
    else
      echo "$(verdict "$w >= 0.99") commit-to-confirm p99 < 20 ms at half the maximum load — $(field "$HALF" hist_within_20ms_pct) % of $(field "$HALF" hist_count) events within 20 ms (histogram p99 ~$(field "$HALF" hist_p99_ms) ms, bucket $(field "$HALF" hist_p99_bucket) ms)"
    fi
  else
    echo "SKIP commit-to-confirm p99 at half load — --no-half-load"
  fi
} >"$TARGETS"
{
  echo
  echo "Targets (issue 10):"
  echo
  sed 's/^/- /' "$TARGETS"
} >>"$SECTION"

echo
cat "$SECTION"
echo
cat "$TARGETS"

if [[ $DOC == 1 ]]; then
  python3 bench/update_benchmarks_doc.py docs/benchmarks.md e2e "$SECTION"
  log "wrote the e2e section of docs/benchmarks.md"
fi
