#!/usr/bin/env bash
# The cost of metrics (docs/operations.md, "Metrics"), in one run on one private broker:
#   1. e2e orders/s, metrics on vs. --no-metrics, alternated (on, off, on, off, ...) so a noisy
#      shared machine hurts both alike: wrk -c64 POST /v1/orders (bench/e2e/create_order.lua),
#      relay on, consumers on, a fresh database per run;
#   2. GET /metrics answer times while 64 clients create orders (the quality bar: < 50 ms), and
#      `promtool check metrics` on a scrape taken under that load (on the API listener; where the
#      time goes and the --metrics-listen ways: bench/metrics/run_scrape_latency.sh);
#   3. with --callgrind N: instructions per order under valgrind, metrics on vs. off (N orders
#      after a warm-up, 4 connections), which does not depend on the machine's noise.
# Prints a Markdown section; unless --no-doc, writes it into docs/benchmarks.md between
# <!-- bench:metrics:begin --> and <!-- bench:metrics:end -->.
#
#   bench/metrics/run_metrics_cost.sh [--rounds 3] [--duration 10] [--callgrind 0] [--no-doc]
#
# Uses the release build (build/release). Stops everything it started (by PID) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
COMMAND="bench/metrics/run_metrics_cost.sh${*:+ $*}"
ROUNDS=3
DURATION=10
CALLGRIND=0
DOC=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --callgrind) CALLGRIND=${2:?}; shift 2 ;;
    --no-doc) DOC=0; shift ;;
    *) echo "run_metrics_cost: unknown option '$1'" >&2; exit 2 ;;
  esac
done
for n in "$ROUNDS" "$DURATION" "$CALLGRIND"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "run_metrics_cost: '$n' is not a whole number" >&2; exit 2; }
done
SERVICE_BIN=$REPO/build/release/src/main/order-service
LUA=$REPO/bench/e2e/create_order.lua
need=(wrk curl sqlite3 promtool ss)
[[ $CALLGRIND -gt 0 ]] && need+=(valgrind callgrind_control)
for t in "${need[@]}"; do command -v "$t" >/dev/null || { echo "run_metrics_cost: '$t' is not installed" >&2; exit 1; }; done
[[ -x $SERVICE_BIN ]] || { echo "run_metrics_cost: build $SERVICE_BIN first" >&2; exit 1; }

BENCH_NAME=run_metrics_cost
# shellcheck source=bench/lib/process_control.sh
source bench/lib/process_control.sh  # log, die, alive, stop_pid
WORK=$(mktemp -d /tmp/metrics-cost-XXXXXX)
SVC_PID=""
BROKER_DIR=$WORK/rmq
BROKER_STARTED=0
cleanup() {
  set +e
  stop_pid "$SVC_PID" 120
  [[ $BROKER_STARTED == 1 ]] && bash scripts/rabbitmq-local.sh stop --dir "$BROKER_DIR" >&2
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
BROKER_PORT=""
for p in 5891 5893 5895 5897 5899; do
  if port_free "$p" && port_free $((p + 10000)) && port_free $((p + 20000)); then BROKER_PORT=$p; break; fi
done
[[ -n $BROKER_PORT ]] || die "no free port for the broker (tried 5891-5899)"
log "starting a private RabbitMQ on :$BROKER_PORT"
BROKER_STARTED=1
bash scripts/rabbitmq-local.sh start --port "$BROKER_PORT" --mgmt-port $((BROKER_PORT + 10000)) \
  --dir "$BROKER_DIR" >&2
AMQP_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/%2F"

# start_service DB LOG [args] -> SVC_PID, SVC_URL; waits until the relay is connected.
start_service() {
  local db=$1 logf=$2 port="" i
  shift 2
  : >"$logf"
  # shellcheck disable=SC2086  # SERVICE_PREFIX is a word list on purpose
  # The load comes from one address and one anonymous caller: no tokens, no rate limit (both
  # came with the security work; without them every order would be a 401 or a 429).
  ${SERVICE_PREFIX:-} "$SERVICE_BIN" --listen 127.0.0.1:0 --database "sqlite:$db" \
    --amqp-url "$AMQP_URL" --log-level warn --auth none --rate-limit 0 "$@" >"$logf" 2>&1 &
  SVC_PID=$!
  for ((i = 0; i < 1200; i++)); do
    port=$(sed -nE 's/^LISTENING [0-9.]+:([0-9]+)$/\1/p' "$logf")
    [[ -n $port ]] && break
    alive "$SVC_PID" || { cat "$logf" >&2; die "the service exited at start"; }
    sleep 0.1
  done
  [[ -n $port ]] || die "the service did not print LISTENING"
  SVC_URL="http://127.0.0.1:$port"
  for ((i = 0; i < 1200; i++)); do
    curl -s "$SVC_URL/readyz" | grep -q '"status":"ok"' && return 0
    sleep 0.1
  done
  die "the service never became ready: $(curl -s "$SVC_URL/readyz")"
}
pending() { sqlite3 "$1" "SELECT COUNT(*) FROM outbox_publication WHERE published_at IS NULL"; }
drain() { local i; for ((i = 0; i < 600; i++)); do [[ $(pending "$1") == 0 ]] && return 0; sleep 0.1; done; die "no drain"; }

# --- 1. e2e, alternated ----------------------------------------------------------------------
declare -a ON OFF
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in on off; do
    extra=(); [[ $mode == off ]] && extra=(--no-metrics)
    db=$WORK/e2e.$r.$mode.db
    start_service "$db" "$WORK/e2e.$r.$mode.log" "${extra[@]}"
    wrk -t2 -c64 -d"${DURATION}s" --timeout 10s -s "$LUA" "$SVC_URL" >"$WORK/wrk.$r.$mode" 2>&1 || die "wrk failed"
    rps=$(sed -nE 's/^SUMMARY .*rps=([0-9.]+).*/\1/p' "$WORK/wrk.$r.$mode")
    drain "$db"
    stop_pid "$SVC_PID"; SVC_PID=""
    log "round $r metrics $mode: $rps orders/s"
    if [[ $mode == on ]]; then ON+=("$rps"); else OFF+=("$rps"); fi
  done
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
ON_MEAN=$(mean "${ON[@]}")
OFF_MEAN=$(mean "${OFF[@]}")
COST=$(awk -v a="$ON_MEAN" -v b="$OFF_MEAN" 'BEGIN { printf "%.1f", (b - a) * 100 / b }')

# --- 2. scrapes under load -------------------------------------------------------------------
db=$WORK/scrape.db
start_service "$db" "$WORK/scrape.log"
wrk -t2 -c64 -d"${DURATION}s" --timeout 10s -s "$LUA" "$SVC_URL" >"$WORK/wrk.scrape" 2>&1 &
WRK_PID=$!
sleep 1
: >"$WORK/scrape.times"
while alive "$WRK_PID"; do
  curl -s -o "$WORK/scrape.txt" -w '%{time_total}\n' "$SVC_URL/metrics" >>"$WORK/scrape.times"
  sleep 0.2
done
wait "$WRK_PID" || die "wrk failed"
curl -s "$SVC_URL/metrics" >"$WORK/scrape.last.txt"
PROMTOOL=$(promtool check metrics <"$WORK/scrape.last.txt" 2>&1 && echo ok) || PROMTOOL="FAILED: $PROMTOOL"
SCRAPE=$(sort -n "$WORK/scrape.times" | awk '{ v[NR] = $1 * 1000 } END { printf "n=%d p50=%.1f p99=%.1f max=%.1f", NR, v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5) < 1 ? 1 : int(NR * 0.99 + 0.5)], v[NR] }')
SCRAPE_BYTES=$(wc -c <"$WORK/scrape.last.txt")
SCRAPE_RPS=$(sed -nE 's/^SUMMARY .*rps=([0-9.]+).*/\1/p' "$WORK/wrk.scrape")
SCRAPE_HTTP=$(sed -nE 's/^SUMMARY .*p50_ms=([0-9.]+) .*p99_ms=([0-9.]+) .*/p50 \1 ms, p99 \2 ms/p' "$WORK/wrk.scrape")
drain "$db"
stop_pid "$SVC_PID"; SVC_PID=""
log "scrapes under load: $SCRAPE ms ($SCRAPE_BYTES bytes), promtool: $PROMTOOL"

# --- 3. callgrind ----------------------------------------------------------------------------
declare -A CG
cg_run() { # MODE
  local mode=$1 extra=() out db mark orders total i wpid
  [[ $mode == off ]] && extra=(--no-metrics)
  out=$WORK/cg.$mode.out; db=$WORK/cg.$mode.db
  SERVICE_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$out --dump-instr=no" \
    start_service "$db" "$WORK/cg.$mode.log" "${extra[@]}"
  load() { # MARK N
    wrk -t1 -c4 -d3600s --timeout 60s -s "$LUA" "$SVC_URL" >>"$WORK/cg.wrk.log" 2>&1 &
    wpid=$!
    for ((i = 0; i < 36000; i++)); do
      (( $(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE rowid > $1") >= $2 )) && break
      sleep 0.1
    done
    kill -INT "$wpid" 2>/dev/null; wait "$wpid" || true
  }
  load 0 50; sleep 1; drain "$db"
  mark=$(sqlite3 "$db" "SELECT COALESCE(MAX(rowid), 0) FROM orders")
  callgrind_control -z "$SVC_PID" >/dev/null 2>&1
  load "$mark" "$CALLGRIND"
  sleep 1; drain "$db"
  callgrind_control -d "$SVC_PID" >/dev/null 2>&1
  orders=$(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE rowid > $mark")
  total=$(sed -nE '/^summary:/{s/^summary: *([0-9]+).*/\1/p;q}' "$out.1")
  if [[ $mode == on ]]; then
    # A scrape's own cost, apart: Prometheus scrapes every 15-60 s, not per order.
    callgrind_control -z "$SVC_PID" >/dev/null 2>&1
    for ((i = 0; i < 10; i++)); do curl -s "$SVC_URL/metrics" >/dev/null; done
    callgrind_control -d "$SVC_PID" >/dev/null 2>&1
    CG[scrape]=$(sed -nE '/^summary:/{s/^summary: *([0-9]+).*/\1/p;q}' "$out.2" | awk '{ printf "%.0f", $1 / 10 }')
  fi
  CG[$mode]=$(awk -v t="$total" -v n="$orders" 'BEGIN { printf "%.0f", t / n }')
  CG[$mode.orders]=$orders
  stop_pid "$SVC_PID" 120; SVC_PID=""
  log "callgrind metrics $mode: ${CG[$mode]} instructions per order ($orders orders)"
}
if [[ $CALLGRIND -gt 0 ]]; then cg_run on; cg_run off; fi

# --- report ----------------------------------------------------------------------------------
SECTION=$WORK/section.md
{
  echo "<!-- bench:metrics:begin -->"
  echo "## Metrics: cost and scrape time"
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) cores ($(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1)), shared with other work; $(uname -r)"
  echo "- Command: \`$COMMAND\`"
  echo "- e2e (HTTP → SQLite group commit → relay → broker confirm, consumers on), \`wrk -t2 -c64 -d${DURATION}s\`, a fresh database per run, alternated: metrics on ${ON[*]} orders/s (mean **$ON_MEAN**), \`--no-metrics\` ${OFF[*]} orders/s (mean **$OFF_MEAN**): cost **$COST %** of orders/s (the goal: under 5 %; runs on this shared machine vary by more than that, which is why they alternate)."
  echo "- \`GET /metrics\` while 64 clients create orders ($SCRAPE_RPS orders/s): $(echo "$SCRAPE" | sed -E 's/n=([0-9]+) p50=([0-9.]+) p99=([0-9.]+) max=([0-9.]+)/\1 scrapes, p50 \2 ms, p99 \3 ms, **max \4 ms**/') (the bar: < 50 ms), while the order requests of the same load took $SCRAPE_HTTP; $SCRAPE_BYTES bytes; \`promtool check metrics\` on a scrape under load: $PROMTOOL."
  if [[ $CALLGRIND -gt 0 ]]; then
    echo "- Callgrind, $CALLGRIND orders after 50 warm-up ones, 4 connections, relay on: **${CG[on]} instructions per order with metrics** (${CG[on.orders]} orders), ${CG[off]} with \`--no-metrics\` (${CG[off.orders]} orders): $(awk -v a="${CG[on]}" -v b="${CG[off]}" 'BEGIN { printf "%+.0f instructions, %+.2f %%", a - b, (a - b) * 100 / b }') per order. One scrape (the HTTP request included): ${CG[scrape]} instructions."
  fi
  echo "<!-- bench:metrics:end -->"
} >"$SECTION"
cat "$SECTION"
if [[ $DOC == 1 ]]; then
  python3 - "$REPO/docs/benchmarks.md" "$SECTION" <<'PY'
import re, sys
doc, section = sys.argv[1], open(sys.argv[2]).read().strip() + "\n"
text = open(doc).read()
pattern = re.compile(r"<!-- bench:metrics:begin -->.*?<!-- bench:metrics:end -->\n?", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(doc, "w").write(text)
PY
fi
