#!/usr/bin/env bash
# Where a GET /metrics scrape's time goes while 64 clients create orders (issue 12's bar: a scrape
# under 64-client load answers in < 50 ms), for each way of serving it, in one run on one private
# broker (relay and consumers on, a fresh database per mode):
#   main               /metrics on the API listener (no --metrics-listen): the scrape waits for an
#                      HTTP I/O thread that the 64 clients keep busy, then serializes on it;
#   listener           --metrics-listen 127.0.0.1:0 --metrics-slice-us 0 --metrics-refresh-ms 0:
#                      its own listener and thread, the kernel's time slice, a serialization per
#                      scrape;
#   listener-slice     the same with the default 0.5 ms slice (--metrics-slice-us 500);
#   listener-snapshot  the defaults of --metrics-listen: 0.5 ms slice and the exposition
#                      serialized once a second ahead of the scrapes (--metrics-refresh-ms 1000),
#                      so a scrape only copies ready bytes (docs/operations.md, "Scraping").
# Per mode:
#   - idle: scrapes with no load (what serialization + HTTP cost alone);
#   - under load (wrk -t2 -c64 POST /v1/orders for --duration s): one scrape every --interval s,
#     and right after it one GET /healthz on the API port (a request that costs nothing to answer:
#     its time is the API listener's queueing and the OS scheduler, no serialization);
#   - for the listener modes, the metrics thread's /proc/PID/task/TID/schedstat and sched over the
#     loaded window, per scrape: on-CPU time (the work), runnable-but-waiting time (the scheduler
#     on 2 saturated cores), voluntary switches (waits for the next request, and for any lock or
#     I/O it blocks on: a scrape that never blocks has one per wakeup, i.e. accept + read = 2 for
#     curl's new connection) and involuntary ones (preempted in the middle of the work); the rest
#     of a scrape's time is the client's own side (curl is scheduled on the same cores);
#   - `promtool check metrics` on a scrape taken under load.
# Writes the "scrape" section of docs/benchmarks.md (unless --no-doc) through
# bench/update_benchmarks_doc.py, with the machine, the command, the date and the load average.
#
#   bench/metrics/run_scrape_latency.sh [--duration 15] [--interval 0.25] [--modes "main listener listener-slice listener-snapshot"]
#                                       [--no-doc]
#
# Uses the release build (build/release). Stops everything it started (by PID) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
COMMAND="bench/metrics/run_scrape_latency.sh${*:+ $*}"
DURATION=15
INTERVAL=0.25
MODES="main listener listener-slice listener-snapshot"
DOC=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --modes) MODES=${2:?}; shift 2 ;;
    --no-doc) DOC=0; shift ;;
    *) echo "run_scrape_latency: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ ]] || { echo "run_scrape_latency: --duration '$DURATION' is not a whole number of seconds" >&2; exit 2; }
[[ $INTERVAL =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "run_scrape_latency: --interval '$INTERVAL' is not a number of seconds" >&2; exit 2; }
for mode in $MODES; do
  [[ $mode =~ ^(main|listener|listener-slice|listener-snapshot)$ ]] || { echo "run_scrape_latency: unknown mode '$mode' (main, listener, listener-slice, listener-snapshot)" >&2; exit 2; }
done
SERVICE_BIN=$REPO/build/release/src/main/order-service
LUA=$REPO/bench/e2e/create_order.lua
for t in wrk curl sqlite3 promtool ss python3; do
  command -v "$t" >/dev/null || { echo "run_scrape_latency: '$t' is not installed" >&2; exit 1; }
done
[[ -x $SERVICE_BIN ]] || { echo "run_scrape_latency: build $SERVICE_BIN first" >&2; exit 1; }

BENCH_NAME=run_scrape_latency
# shellcheck source=bench/lib/process_control.sh
source bench/lib/process_control.sh  # log, die, alive, stop_pid
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
WORK=$(mktemp -d /tmp/scrape-latency-XXXXXX)
SVC_PID=""
WRK_PID=""
BROKER_DIR=$WORK/rmq
BROKER_STARTED=0
cleanup() {
  set +e
  stop_pid "$WRK_PID" 5
  stop_pid "$SVC_PID" 120
  [[ $BROKER_STARTED == 1 ]] && bash scripts/rabbitmq-local.sh stop --dir "$BROKER_DIR" >&2
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
BROKER_PORT=""
for p in 5881 5883 5885 5887 5889; do
  if port_free "$p" && port_free $((p + 10000)) && port_free $((p + 20000)); then BROKER_PORT=$p; break; fi
done
[[ -n $BROKER_PORT ]] || die "no free port for the broker (tried 5881-5889)"
log "starting a private RabbitMQ on :$BROKER_PORT"
BROKER_STARTED=1
bash scripts/rabbitmq-local.sh start --port "$BROKER_PORT" --mgmt-port $((BROKER_PORT + 10000)) \
  --dir "$BROKER_DIR" >&2
AMQP_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/%2F"

# start_service DB LOG [args] -> SVC_PID, SVC_URL, METRICS_URL; waits until the relay is connected.
start_service() {
  local db=$1 logf=$2 port="" metrics="" i
  shift 2
  : >"$logf"
  # The load comes from one address and one (anonymous) caller: no rate limit, no tokens.
  "$SERVICE_BIN" --listen 127.0.0.1:0 --database "sqlite:$db" --amqp-url "$AMQP_URL" \
    --log-level warn --auth none --rate-limit 0 "$@" >"$logf" 2>&1 &
  SVC_PID=$!
  for ((i = 0; i < 1200; i++)); do
    port=$(sed -nE 's/^LISTENING [0-9.]+:([0-9]+)$/\1/p' "$logf")
    [[ -n $port ]] && break
    alive "$SVC_PID" || { cat "$logf" >&2; die "the service exited at start"; }
    sleep 0.1
  done
  [[ -n $port ]] || die "the service did not print LISTENING"
  SVC_URL="http://127.0.0.1:$port"
  metrics=$(sed -nE 's/^METRICS_ON [0-9.]+:([0-9]+)$/\1/p' "$logf")
  METRICS_URL="${metrics:+http://127.0.0.1:$metrics}"
  METRICS_URL=${METRICS_URL:-$SVC_URL}
  for ((i = 0; i < 1200; i++)); do
    curl -s "$SVC_URL/readyz" | grep -q '"status":"ok"' && return 0
    sleep 0.1
  done
  die "the service never became ready: $(curl -s "$SVC_URL/readyz")"
}
pending() { sqlite3 "$1" "SELECT COUNT(*) FROM outbox_publication WHERE published_at IS NULL"; }
drain() { local i; for ((i = 0; i < 600; i++)); do [[ $(pending "$1") == 0 ]] && return 0; sleep 0.1; done; die "no drain"; }
# "n= p50= p99= max=" of a file of seconds, in milliseconds.
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 * 1000 } END {
    if (NR == 0) { print "n=0"; exit }
    p99 = int(NR * 0.99 + 0.5); if (p99 < 1) p99 = 1
    printf "n=%d p50=%.1f p99=%.1f max=%.1f", NR, v[int(NR * 0.5 + 0.5) < 1 ? 1 : int(NR * 0.5 + 0.5)], v[p99], v[NR] }'
}
# The TID of the service's thread named $1 (pthread name, /proc/PID/task/TID/comm).
thread_of() {
  local comm
  for comm in /proc/"$SVC_PID"/task/*/comm; do
    [[ $(cat "$comm") == "$1" ]] && { basename "$(dirname "$comm")"; return 0; }
  done
  return 1
}

declare -A R
for mode in $MODES; do
  case $mode in
    main) extra=() ;;
    listener) extra=(--metrics-listen 127.0.0.1:0 --metrics-slice-us 0 --metrics-refresh-ms 0) ;;
    listener-slice) extra=(--metrics-listen 127.0.0.1:0 --metrics-slice-us 500 --metrics-refresh-ms 0) ;;
    listener-snapshot) extra=(--metrics-listen 127.0.0.1:0) ;;
  esac
  db=$WORK/$mode.db
  start_service "$db" "$WORK/$mode.log" "${extra[@]}"
  [[ $mode == main || $METRICS_URL != "$SVC_URL" ]] || die "--metrics-listen given but no METRICS_ON line"
  # Idle: what a scrape costs with nothing else running (the first one warms up).
  curl -s -o /dev/null "$METRICS_URL/metrics"
  : >"$WORK/$mode.idle"
  for ((i = 0; i < 10; i++)); do
    curl -s -o /dev/null -w '%{time_total}\n' "$METRICS_URL/metrics" >>"$WORK/$mode.idle"
    sleep 0.1
  done
  tid=""
  [[ $mode == listener* ]] && { tid=$(thread_of http-metrics) || die "no thread named http-metrics"; }
  R[$mode.load_before]=$(loadavg)
  wrk -t2 -c64 -d"${DURATION}s" --timeout 10s -s "$LUA" "$SVC_URL" >"$WORK/$mode.wrk" 2>&1 &
  WRK_PID=$!
  sleep 1 # wrk's connections are open and busy
  switches() { awk '/^nr_voluntary_switches/ { v = $3 } /^nr_involuntary_switches/ { i = $3 } END { print v, i }' "/proc/$SVC_PID/task/$tid/sched"; }
  [[ -n $tid ]] && { read -r run0 wait0 _ <"/proc/$SVC_PID/task/$tid/schedstat"; read -r vol0 invol0 < <(switches); }
  : >"$WORK/$mode.scrape"
  : >"$WORK/$mode.healthz"
  while alive "$WRK_PID"; do
    curl -s -o "$WORK/$mode.under-load.txt" -w '%{time_total}\n' "$METRICS_URL/metrics" >>"$WORK/$mode.scrape"
    curl -s -o /dev/null -w '%{time_total}\n' "$SVC_URL/healthz" >>"$WORK/$mode.healthz"
    sleep "$INTERVAL"
  done
  [[ -n $tid ]] && { read -r run1 wait1 _ <"/proc/$SVC_PID/task/$tid/schedstat"; read -r vol1 invol1 < <(switches); }
  wait "$WRK_PID" || die "wrk failed: $(cat "$WORK/$mode.wrk")"
  WRK_PID=""
  R[$mode.load_after]=$(loadavg)
  scrapes=$(wc -l <"$WORK/$mode.scrape")
  if [[ -n $tid ]]; then
    R[$mode.sched]=$(awk -v r="$((run1 - run0))" -v w="$((wait1 - wait0))" -v n="$scrapes" \
      -v v="$((vol1 - vol0))" -v i="$((invol1 - invol0))" \
      'BEGIN { printf "on CPU %.2f ms, runnable but waiting for a core %.2f ms, %.1f voluntary + %.1f involuntary switches", r / n / 1e6, w / n / 1e6, v / n, i / n }')
  fi
  R[$mode.promtool]=$(promtool check metrics <"$WORK/$mode.under-load.txt" 2>&1 && echo ok) || R[$mode.promtool]="FAILED: ${R[$mode.promtool]}"
  R[$mode.bytes]=$(wc -c <"$WORK/$mode.under-load.txt")
  R[$mode.idle]=$(stats "$WORK/$mode.idle")
  R[$mode.scrape]=$(stats "$WORK/$mode.scrape")
  R[$mode.healthz]=$(stats "$WORK/$mode.healthz")
  R[$mode.rps]=$(sed -nE 's/^SUMMARY .*rps=([0-9.]+).*/\1/p' "$WORK/$mode.wrk")
  R[$mode.non2xx]=$(sed -nE 's/^SUMMARY .*non2xx=([0-9]+).*/\1/p' "$WORK/$mode.wrk")
  [[ ${R[$mode.non2xx]:-0} == 0 ]] || die "$mode: ${R[$mode.non2xx]} order requests did not succeed"
  R[$mode.orders]=$(sed -nE 's/^SUMMARY .*p50_ms=([0-9.]+) .*p99_ms=([0-9.]+) .*/p50 \1 ms, p99 \2 ms/p' "$WORK/$mode.wrk")
  drain "$db"
  stop_pid "$SVC_PID"; SVC_PID=""
  log "$mode: idle ${R[$mode.idle]}; under load: scrape ${R[$mode.scrape]}, healthz ${R[$mode.healthz]} ms; ${R[$mode.sched]:-}; ${R[$mode.rps]} orders/s; load ${R[$mode.load_before]} -> ${R[$mode.load_after]}; promtool ${R[$mode.promtool]}"
done

ms() { echo "$1" | sed -E 's/n=([0-9]+) p50=([0-9.]+) p99=([0-9.]+) max=([0-9.]+)/p50 \2 ms, p99 \3 ms, **max \4 ms** (n=\1)/'; }
SECTION=$WORK/section.md
{
  echo "## Metrics: scrape latency under load"
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) cores ($(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1)), shared with other work; $(uname -r)"
  echo "- Command: \`$COMMAND\`"
  echo "- Load: \`wrk -t2 -c64 -d${DURATION}s\` POST /v1/orders (bench/e2e/create_order.lua), relay and consumers on, a private local broker; one scrape every ${INTERVAL} s with curl on the same machine, then one GET /healthz on the API port."
  echo
  echo "| Mode | Idle scrape | Scrape under load | /healthz (API port) under load | Metrics thread per scrape | Orders/s (latency) | Load average before → after | promtool |"
  echo "|---|---|---|---|---|---|---|---|"
  for mode in $MODES; do
    case $mode in
      main) name="/metrics on the API listener" ;;
      listener) name="\`--metrics-listen --metrics-slice-us 0 --metrics-refresh-ms 0\`: own thread, the kernel's slice, serialized per scrape" ;;
      listener-slice) name="\`--metrics-listen --metrics-refresh-ms 0\`: own thread, 0.5 ms slice, serialized per scrape" ;;
      listener-snapshot) name="\`--metrics-listen\` (defaults): own thread, 0.5 ms slice, snapshot serialized every 1 s" ;;
    esac
    echo "| $name | $(ms "${R[$mode.idle]}" | sed 's/\*\*//g') | $(ms "${R[$mode.scrape]}") | $(ms "${R[$mode.healthz]}" | sed 's/\*\*//g') | ${R[$mode.sched]:-n/a (shared I/O threads)} | ${R[$mode.rps]} (${R[$mode.orders]}) | ${R[$mode.load_before]} → ${R[$mode.load_after]} | ${R[$mode.promtool]} (${R[$mode.bytes]} bytes) |"
  done
  cat <<'TEXT'

How to read it (docs/operations.md, "Scrape time under load"): "on CPU" is the work of a scrape (serialization, or the copy of a snapshot, plus HTTP); "runnable but waiting for a core" is the OS scheduler on cores shared by the load, the broker, other processes and curl itself; voluntary switches are the thread's blocking waits (about 2 per scrape, accept and read of curl's new connection: no lock waits); involuntary ones are preemptions in the middle of the work. /healthz on the API port costs nothing to answer: its times are queueing on the API I/O threads plus the same scheduler wait. Every run is on a shared 2-core machine: compare the rows of one run, and the load average next to them.
TEXT
} >"$SECTION"
cat "$SECTION"
[[ $DOC == 1 ]] && python3 bench/update_benchmarks_doc.py docs/benchmarks.md scrape "$SECTION"
exit 0
