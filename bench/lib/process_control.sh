# shellcheck shell=bash
# Logging and process control by PID, shared by every bench script (bench/lib/e2e_common.sh,
# bench/metrics/*.sh). Sourced, not run; the caller sets BENCH_NAME (the prefix of error messages)
# first.

log() { echo "# $*" >&2; }
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

alive() { # PID: running (a zombie, exited but not yet reaped, is not)
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}
stop_pid() { # PID [seconds]: TERM, then KILL after the grace period
  local pid=$1 grace=${2:-20} i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
