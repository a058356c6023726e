# shellcheck shell=bash disable=SC2034  # sourced; the variables it sets are its outputs
# Shell functions shared by the end-to-end benches (bench/e2e/run_e2e_bench.sh,
# bench/e2e/run_scale_out_bench.sh): process control by PID, CPU accounting from /proc, a private
# RabbitMQ node, starting the service, one wrk run, the one-order functional check. Sourced, not
# run; the caller sets `set -euo pipefail` and these variables first:
#
#   BENCH_NAME    prefix of error messages           WORK       the run's temporary directory
#   HZ            getconf CLK_TCK                    QUIET_WAIT 1: wait_quiet waits, else returns
#   SERVICE_BIN   order-service binary               SERVICE_AUTH_ARGS  e.g. "--auth none"
#   AMQP_URL      set by start_private_broker        TOPOLOGY   --topology file of the service
#   AUDIT_BIN     bench/e2e/e2e_audit                QUEUE      the audited queue (bench.all)
#   LUA           the default wrk script
#
# Everything started here is recorded by PID (STARTED_PID, BROKER_PID) for the caller's EXIT trap.

# log, die, alive, stop_pid
# shellcheck source=bench/lib/process_control.sh
source "$(dirname "${BASH_SOURCE[0]}")/process_control.sh"


# CPU accounting from /proc, one pass over every process per snapshot (no process per pid).
# Ticks = utime + stime + cutime + cstime (children reaped by a live parent count with it).

# snapshot ROOTS... -> one line of ticks: for each argument "tree:PID" (the pid and its
# descendants) or "pgrp:PGID" (a process group), then kernel threads, machine busy, irq+softirq.
snapshot() {
  { echo "SPEC $*"; cat /proc/[0-9]*/stat 2>/dev/null; echo "CPU $(grep '^cpu ' /proc/stat)"; } | awk '
    $1 == "SPEC" { for (i = 2; i <= NF; i++) spec[i - 1] = $i; nspec = NF - 1; next }
    $1 == "CPU"  { busy = $3 + $4 + $5 + $8 + $9 + $10; irq = $8 + $9; next }
    {
      pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
      ppid[pid] = f[2]; pgrp[pid] = f[3]; t[pid] = f[12] + f[13] + f[14] + f[15]
      if (f[2] == 2) kth += f[12] + f[13]
    }
    function tree(p,   s, q) { s = t[p]; for (q in ppid) if (ppid[q] == p && q != p) s += tree(q); return s }
    END {
      out = ""
      for (i = 1; i <= nspec; i++) {
        split(spec[i], kv, ":"); s = 0
        if (kv[2] != "" && kv[1] == "tree" && (kv[2] in t)) s = tree(kv[2])
        if (kv[2] != "" && kv[1] == "pgrp") for (q in pgrp) if (pgrp[q] == kv[2]) s += t[q]
        out = out s " "
      }
      print out (kth + 0) " " busy " " irq
    }'
}
# diff_secs "A" "B" FIELD -> core-seconds between two snapshot lines for field FIELD (1-based)
diff_secs() { awk -v a="$1" -v b="$2" -v f="$3" -v hz="$HZ" \
  'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[f] - x[f]) / hz }'; }

wait_quiet() {
  [[ $QUIET_WAIT == 1 ]] || return 0
  local a b i
  for ((i = 0; i < 60; i++)); do
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat); sleep 2
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
    (( (b - a) * 100 / (2 * HZ * $(nproc)) < 10 )) && return 0
  done
  log "the machine never went quiet; measuring anyway"
}

field() { # field LINE KEY -> value of KEY=value in a line of key=value pairs
  local kv
  for kv in $1; do [[ $kv == "$2="* ]] && { echo "${kv#*=}"; return 0; }; done
  echo ""
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# start_private_broker DIR: a private RabbitMQ node (scripts/rabbitmq-local.sh, management plugin
# on AMQP port + 10000) on the first free port of 5791-5799, never one that already answers
# (rabbitmq-local.sh start would silently reuse it and we would measure it). Sets BROKER_PORT,
# BROKER_MGMT_PORT, BROKER_PID, BROKER_PGID, AMQP_URL; BROKER_STARTED=1 before it boots (the
# caller's trap stops it with `scripts/rabbitmq-local.sh stop --dir DIR`).
start_private_broker() {
  local dir=$1 p st
  BROKER_PORT=""
  for p in 5791 5793 5795 5797 5799; do
    if port_free "$p" && port_free $((p + 10000)) && port_free $((p + 20000)) \
       && ! epmd -names 2>/dev/null | grep -q "^name rabbit-local-$p "; then
      BROKER_PORT=$p; break
    fi
  done
  [[ -n $BROKER_PORT ]] || die "no free port for the service's broker (tried 5791-5799)"
  set +e; bash scripts/rabbitmq-local.sh status --port "$BROKER_PORT" --dir "$dir" >/dev/null; st=$?; set -e
  [[ $st == 3 ]] || die "something answers AMQP on $BROKER_PORT already"
  BROKER_MGMT_PORT=$((BROKER_PORT + 10000))
  log "starting a private RabbitMQ on :$BROKER_PORT (management :$BROKER_MGMT_PORT)"
  BROKER_STARTED=1
  bash scripts/rabbitmq-local.sh start --port "$BROKER_PORT" --mgmt-port "$BROKER_MGMT_PORT" \
    --dir "$dir" >&2
  BROKER_PID=$(cat "$dir/rabbitmq.pid")
  BROKER_PGID=$(ps -o pgid= -p "$BROKER_PID" | tr -d ' ')
  AMQP_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/%2F"
}

# stop_epmd_if_ours EPMD_BEFORE: epmd only if it was not running before us (EPMD_BEFORE empty)
# and no Erlang node is registered with it any more.
stop_epmd_if_ours() {
  local epmd
  epmd=$(pgrep -x epmd | head -1)
  if [[ -z "$1" && -n "$epmd" ]] && ! epmd -names 2>/dev/null | grep -q '^name '; then
    kill -TERM "$epmd" 2>/dev/null
  fi
}

# copy_peer SRC DIR: ../shared/peer-node is read-only: a persistent copy in DIR, where npm ci and
# tsc write (node_modules and dist stay there between runs, so only the first run needs npm's
# registry).
copy_peer() {
  log "copying $1 to $2 (node_modules and dist stay there between runs)"
  mkdir -p "$2"
  (cd "$1" && tar cf - --exclude=node_modules --exclude=.deps --exclude=dist .) | (cd "$2" && tar xf -)
  chmod -R u+w "$2"
}

# machine_line -> "N cores (CPU model), M GiB RAM, Linux R"
machine_line() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
}

# start_service DATABASE LOG [extra args...] -> sets STARTED_PID and STARTED_URL; waits until
# /readyz shows relay.state in $START_READY_STATES (default "connected"; a follower of a relay
# lease is "standby"). DATABASE is --database's value (sqlite:PATH or postgresql://...). A prefix
# command (valgrind) may come from $SERVICE_PREFIX.
start_service() {
  local database=$1 logf=$2 port="" i
  shift 2
  : >"$logf"   # exists before the background job opens it: the loop below reads it at once
  # The load comes from one address: no rate limit (an environment variable, which a baseline
  # build without the flag ignores).
  # shellcheck disable=SC2086  # SERVICE_PREFIX and SERVICE_AUTH_ARGS are word lists on purpose
  ORDER_SERVICE_RATE_LIMIT=0 ${SERVICE_PREFIX:-} "$SERVICE_BIN" --listen 127.0.0.1:0 --database "$database" \
    --amqp-url "$AMQP_URL" --topology "$TOPOLOGY" --log-level warn $SERVICE_AUTH_ARGS "$@" \
    >"$logf" 2>&1 &
  STARTED_PID=$!
  for ((i = 0; i < 1200; i++)); do
    port=$(sed -nE 's/^LISTENING [0-9.]+:([0-9]+)$/\1/p' "$logf")
    [[ -n $port ]] && break
    kill -0 "$STARTED_PID" 2>/dev/null || { cat "$logf" >&2; die "the service exited at start"; }
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$logf" >&2; die "the service did not print LISTENING"; }
  STARTED_URL="http://127.0.0.1:$port"
  for ((i = 0; i < 1200; i++)); do
    if [[ " $* " == *" --no-relay "* ]] ||
       curl -s "$STARTED_URL/readyz" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["relay"]["state"] not in sys.argv[1].split())' \
         "${START_READY_STATES:-connected}" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  curl -s "$STARTED_URL/readyz" >&2; die "the service's relay never reached ${START_READY_STATES:-connected}"
}


# functional_check NAME URL HEADERS AMQP_URL: one order by curl, then its 3 events must be in
# $QUEUE with the right properties (the audit of every level does the same at scale).
functional_check() {
  local name=$1 url=$2 headers=$3 amqp=$4 ids=$WORK/check.$1.ids line
  "$AUDIT_BIN" purge --amqp-url "$amqp" --queue "$QUEUE" >/dev/null
  curl -sf -H 'Content-Type: application/json' -H "X-Correlation-Id: corr-e2e-check-$$" \
    -d '{"userId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","currency":"USD","customerDetails":{"name":"Zoë Dupont","email":"zoe@example.com"},"shippingAddress":{"street":"1 Rue de la République","city":"Lyon","postalCode":"69001","country":"FR"},"items":[{"productId":"prod-456","quantity":2,"unitPrice":99.99}]}' \
    "$url/v1/orders" | python3 -c 'import json,sys; print(json.load(sys.stdin)["orderId"])' >"$ids" \
    || die "$name: POST /v1/orders failed"
  echo 3 >"$WORK/check.$name.expect"
  "$AUDIT_BIN" watch --amqp-url "$amqp" --queue "$QUEUE" --expect-file "$WORK/check.$name.expect" \
    --timeout-s 30 >/dev/null || die "$name: the 3 events of one order did not arrive within 30 s"
  line=$("$AUDIT_BIN" audit --amqp-url "$amqp" --queue "$QUEUE" --orders "$ids" --headers "$headers" \
    --idle-ms 1000) || die "$name: functional check failed: $line"
  log "$name functional check: $line"
}

# run_wrk URL CLIENTS SECONDS OUT [LUA]: one wrk run, CPU-accounted. Sets WRK_LINE (the SUMMARY
# line), WRK_CPU (core-s) and WRK_END_MS (epoch ms when wrk exited: its threads notice the end of
# -d only at their next 100 ms stats tick and it exits right after joining them, so this is when
# the load really stopped).
run_wrk() { # URL CLIENTS SECONDS OUT [LUA]
  local url=$1 c=$2 d=$3 out=$4 lua=${5:-$LUA} threads
  threads=$(( c < 2 ? 1 : 2 ))
  /usr/bin/time -f '%U %S' -o "$out.time" \
    wrk -t"$threads" -c"$c" -d"${d}s" --latency --timeout 10s -s "$lua" "$url" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed"; }
  WRK_END_MS=$(date +%s%3N)
  WRK_LINE=$(grep '^SUMMARY' "$out") || { cat "$out" >&2; die "no SUMMARY from wrk"; }
  WRK_CPU=$(awk 'END { printf "%.2f", $1 + $2 }' "$out.time")
}

# ------------------------------------------------------------------------------------------------
# Commit to confirm: the histogram order_outbox_commit_to_confirm_seconds of every instance,
# summed; quantiles of the delta between two scrapes as Prometheus' histogram_quantile computes
# them (linear within the bucket), with the bucket that holds them.

c2c_scrape() { # OUT URL...: cumulative counts by bucket bound, summed over the instances
  local out=$1 url
  shift
  for url in "$@"; do curl -s "$url/metrics" || true; done | awk '
    /^order_outbox_commit_to_confirm_seconds_bucket\{/ {
      le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le); c[le] += $NF }
    END { for (le in c) print le, c[le] }' | sort -g >"$out"
}
c2c_quantiles() { # BEFORE AFTER -> "c2c_count= c2c_p50_ms= c2c_p99_ms= c2c_p50_bucket= c2c_p99_bucket= c2c_within_20ms="
  python3 - "$1" "$2" <<'PY'
import sys
def read(p):
    d = {}
    for line in open(p):
        le, n = line.split()
        d[le] = float(n)
    return d
a, b = read(sys.argv[1]), read(sys.argv[2])
rows = sorted(((float("inf") if le == "+Inf" else float(le)), b[le] - a.get(le, 0.0)) for le in b)
total = rows[-1][1] if rows else 0
def q(x):
    prev_bound, prev_cum = 0.0, 0.0
    for bound, cum in rows:
        if cum >= x * total:
            if bound == float("inf"):
                return prev_bound * 1e3, f">{prev_bound * 1e3:g}"
            frac = (x * total - prev_cum) / (cum - prev_cum) if cum > prev_cum else 1.0
            return (prev_bound + (bound - prev_bound) * frac) * 1e3, f"{prev_bound * 1e3:g}-{bound * 1e3:g}"
        prev_bound, prev_cum = bound, cum
    return 0.0, "-"
# The share of events within 20 ms, exact: 0.02 is a bucket bound (issue 10's objective).
within20 = next((cum for bound, cum in rows if abs(bound - 0.02) < 1e-9), None)
if total <= 0:
    print("c2c_count=0 c2c_p50_ms=- c2c_p99_ms=- c2c_p50_bucket=- c2c_p99_bucket=- c2c_within_20ms=-")
else:
    p50, b50 = q(0.5)
    p99, b99 = q(0.99)
    w20 = "-" if within20 is None else f"{within20 / total:.4f}"
    print(f"c2c_count={total:.0f} c2c_p50_ms={p50:.1f} c2c_p99_ms={p99:.1f} c2c_p50_bucket={b50} c2c_p99_bucket={b99} c2c_within_20ms={w20}")
PY
}
