#!/usr/bin/env bash
# A private local RabbitMQ broker for development: data, logs, config and Erlang cookie all live
# under one directory (default ./data/rabbitmq), nothing touches the system broker.
#
#   scripts/rabbitmq-local.sh start  [--port 5672] [--mgmt-port 15672] [--dir ./data/rabbitmq]
#   scripts/rabbitmq-local.sh status [--port 5672] [--dir ./data/rabbitmq]
#   scripts/rabbitmq-local.sh stop   [--dir ./data/rabbitmq]
#
# `start` does nothing when a broker already answers AMQP on the port (so it is safe to run before
# every `order-service` start), otherwise it boots one in the background, with the management
# plugin on 127.0.0.1:<mgmt-port> (guest/guest), and waits until it answers. Exit codes: 0 ok,
# 1 failed, 2 bad usage, 3 (status only) not running.
#
# Works as root or as a normal user: it runs /usr/lib/rabbitmq/bin/rabbitmq-server directly (the
# /usr/sbin wrapper insists on switching to the rabbitmq user).
set -euo pipefail

SERVER=${RABBITMQ_SERVER_BIN:-/usr/lib/rabbitmq/bin/rabbitmq-server}
PORT=5672
MGMT_PORT=15672
DIR=./data/rabbitmq
TIMEOUT=120

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[[ $# -ge 1 ]] || usage
CMD=$1
shift
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --mgmt-port) MGMT_PORT=${2:?--mgmt-port needs a value}; shift 2 ;;
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "rabbitmq-local: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ $PORT =~ ^[0-9]+$ && $PORT -gt 0 && $PORT -lt 65536 ]] || {
  echo "rabbitmq-local: --port must be 1..65535, got '$PORT'" >&2; exit 2; }
[[ $MGMT_PORT =~ ^[0-9]+$ && $MGMT_PORT -gt 0 && $MGMT_PORT -lt 65536 ]] || {
  echo "rabbitmq-local: --mgmt-port must be 1..65535, got '$MGMT_PORT'" >&2; exit 2; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
NODE="rabbit-local-$PORT@localhost"
PIDFILE="$DIR/rabbitmq.pid"

# True when something on 127.0.0.1:$PORT answers the AMQP 0-9-1 protocol header with a frame.
answers_amqp() {
  local byte=""
  { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
  printf 'AMQP\x00\x00\x09\x01' >&3 || { exec 3<&-; return 1; }
  IFS= read -r -t 2 -N 1 byte <&3 || true
  exec 3<&- 3>&-
  [[ "$byte" == $'\x01' ]]
}

write_config() {
  mkdir -p "$DIR/home" "$DIR/mnesia" "$DIR/log"
  if [[ ! -f "$DIR/home/.erlang.cookie" ]]; then
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' \
      > "$DIR/home/.erlang.cookie")
    chmod 0400 "$DIR/home/.erlang.cookie"
  fi
  cat > "$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
log.console = false
EOF
  echo '[rabbitmq_management].' > "$DIR/enabled_plugins"
  : > "$DIR/rabbitmq-env.conf"
}

broker_env() {
  env -u RABBITMQ_NODENAME \
    HOME="$DIR/home" \
    RABBITMQ_NODENAME="$NODE" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$PORT" \
    RABBITMQ_DIST_PORT=$((PORT + 20000)) \
    RABBITMQ_MNESIA_BASE="$DIR/mnesia" \
    RABBITMQ_LOG_BASE="$DIR/log" \
    RABBITMQ_LOGS="$DIR/log/rabbit.log" \
    RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" \
    RABBITMQ_PID_FILE="$PIDFILE" \
    "$@"
}

# The broker's process group (its Erlang VM writes its pid to $PIDFILE once booted).
running_pgid() {
  local beam pgid
  [[ -f "$PIDFILE" ]] || return 1
  beam=$(cat "$PIDFILE")
  [[ -n "$beam" ]] && kill -0 "$beam" 2>/dev/null || return 1
  pgid=$(ps -o pgid= -p "$beam" | tr -d ' ')
  [[ -n "$pgid" ]] && echo "$pgid"
}

start() {
  if answers_amqp; then
    echo "rabbitmq-local: a broker already answers on 127.0.0.1:$PORT; not starting another"
    return 0
  fi
  if pid=$(running_pgid); then
    echo "rabbitmq-local: broker process group $pid is running but does not answer on port $PORT" >&2
    echo "  (still booting, or on another port; see $DIR/log/rabbit.log)" >&2
    return 1
  fi
  [[ -x "$SERVER" ]] || { echo "rabbitmq-local: $SERVER not found (apt install rabbitmq-server)" >&2; return 1; }
  write_config
  rm -f "$PIDFILE"
  local started=$(date +%s%N)
  # setsid: own session and process group, so `stop` can signal the whole broker at once and the
  # broker survives the shell that started it.
  broker_env setsid "$SERVER" >>"$DIR/log/stdout.log" 2>&1 < /dev/null &
  local launcher=$!
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until answers_amqp; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      echo "rabbitmq-local: broker exited during boot; last log lines:" >&2
      tail -n 30 "$DIR/log/rabbit.log" "$DIR/log/stdout.log" >&2 2>/dev/null || true
      return 1
    fi
    if (( $(date +%s) > deadline )); then
      echo "rabbitmq-local: broker did not answer on port $PORT within ${TIMEOUT}s; log tail:" >&2
      tail -n 30 "$DIR/log/rabbit.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  local ms=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "rabbitmq-local: broker $NODE up on amqp://guest:guest@127.0.0.1:$PORT/%2F" \
       "(management http://127.0.0.1:$MGMT_PORT) in ${ms} ms; data in $DIR"
}

stop() {
  local pgid beam
  if ! pgid=$(running_pgid); then
    echo "rabbitmq-local: no broker started from $DIR is running"
    return 0
  fi
  beam=$(cat "$PIDFILE")
  kill -TERM -- "-$pgid" 2>/dev/null || kill -TERM "$beam"
  local i
  for i in $(seq 1 300); do
    kill -0 "$beam" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$beam" 2>/dev/null; then
    echo "rabbitmq-local: broker did not stop within 30 s, killing it" >&2
    kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$beam" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  echo "rabbitmq-local: stopped"
}

status() {
  if answers_amqp; then
    local who="an external broker"
    if pid=$(running_pgid); then who="$NODE (process group $pid, data in $DIR)"; fi
    echo "rabbitmq-local: running: $who answers on 127.0.0.1:$PORT"
    return 0
  fi
  echo "rabbitmq-local: not running on 127.0.0.1:$PORT"
  return 3
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "rabbitmq-local: unknown command '$CMD' (start|stop|status)" >&2; exit 2 ;;
esac
