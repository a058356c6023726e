#!/usr/bin/env bash
# Creates (or updates) the RabbitMQ user the Order Service runs as, with permissions limited to
# the exchanges and queues it owns and consumes (docs/security.md, "Broker: TLS, credentials,
# permissions"):
#
#   scripts/rabbitmq-user.sh [--user order-service] [--vhost /] [--topology config/topology.json]
#                            [--node rabbit@host] [--rabbitmqctl PATH] [--print]
#
# The password is read from RABBITMQ_USER_PASSWORD, or from the file RABBITMQ_USER_PASSWORD_FILE
# (never from an argument: the process list would show it). Environment instead of flags:
# RABBITMQ_USER, RABBITMQ_VHOST, RABBITMQ_TOPOLOGY, RABBITMQ_NODE, RABBITMQCTL (default
# rabbitmqctl; the node's Erlang cookie must be readable, e.g. run as the rabbitmq user or root).
# --print only prints the three regular expressions (configure, write, read) and runs nothing:
# use them on Amazon MQ, which has no rabbitmqctl (management API / console, see docs/security.md).
#
# The regexes come from the topology file (the events exchange, its alternate and dead-letter
# exchanges and queues, every consumer queue the service declares) and from the inbound
# subscriptions (src/inbound/include/inbound/inbound_handlers.hpp: exchanges payment.events and
# fulfillment.events, queues order-service.payment-events and order-service.fulfillment-events
# with their .retry.N and .dlq queues). Why each permission is needed:
#   configure  exchange.declare / queue.declare of all of those
#   write      basic.publish to order.events; queue.bind (write on the queue); the retry and DLQ
#              copies (default exchange, amq.default); declaring a queue with a dead-letter
#              exchange (write on that exchange), an exchange with an alternate exchange
#   read       queue.bind (read on the exchange); basic.consume of the two inbound queues;
#              declaring a queue with a dead-letter exchange (read on that queue)
# Everything else (other exchanges and queues, amq.* except amq.default) is refused.
# Exit codes: 0 done, 1 rabbitmqctl failed, 2 bad usage.
set -euo pipefail

USER_NAME=${RABBITMQ_USER:-order-service}
VHOST=${RABBITMQ_VHOST:-/}
TOPOLOGY=${RABBITMQ_TOPOLOGY:-$(dirname "$0")/../config/topology.json}
NODE=${RABBITMQ_NODE:-}
CTL=${RABBITMQCTL:-rabbitmqctl}
PRINT=0

usage() {
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --user) USER_NAME=${2:?--user needs a value}; shift 2 ;;
    --vhost) VHOST=${2:?--vhost needs a value}; shift 2 ;;
    --topology) TOPOLOGY=${2:?--topology needs a value}; shift 2 ;;
    --node) NODE=${2:?--node needs a value}; shift 2 ;;
    --rabbitmqctl) CTL=${2:?--rabbitmqctl needs a value}; shift 2 ;;
    --print) PRINT=1; shift ;;
    -h|--help) usage ;;
    *) echo "rabbitmq-user: unknown option '$1' (passwords come from RABBITMQ_USER_PASSWORD)" >&2; exit 2 ;;
  esac
done

[[ -r "$TOPOLOGY" ]] || { echo "rabbitmq-user: cannot read the topology file '$TOPOLOGY'" >&2; exit 2; }

# The value of a top-level string key of the topology file, or the default the service uses.
key() {
  local value
  value=$(grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" "$TOPOLOGY" | head -n 1 |
    sed 's/.*:[[:space:]]*"\([^"]*\)"/\1/') || true
  echo "${value:-$2}"
}
# A name as a regex: dots escaped (names are letters, digits, '.', '-', '_').
quote() { printf '%s' "$1" | sed 's/[.]/\\./g'; }

EXCHANGE=$(key exchange order.events)
ALTERNATE=$(key alternateExchange order.events.unrouted)
UNROUTED=$(key unroutedQueue order.events.unrouted)
DLX=$(key deadLetterExchange order.events.dlx)
DLQ=$(key deadLetterQueue order.events.dlq)
# Every "name" in the file is a consumer queue (queues[].name).
mapfile -t QUEUES < <(grep -o '"name"[[:space:]]*:[[:space:]]*"[^"]*"' "$TOPOLOGY" |
  sed 's/.*:[[:space:]]*"\([^"]*\)"/\1/')
for name in "$EXCHANGE" "$ALTERNATE" "$UNROUTED" "$DLX" "$DLQ" "${QUEUES[@]}"; do
  if [[ ! "$name" =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "rabbitmq-user: unexpected name '$name' in $TOPOLOGY" >&2
    exit 2
  fi
done

INBOUND_EXCHANGES=(payment.events fulfillment.events)
INBOUND_QUEUES=(order-service.payment-events order-service.fulfillment-events)

# Alternatives joined with '|', each once (the alternate exchange and the unrouted queue share a
# name).
join() { printf '%s\n' "$@" | awk '!seen[$0]++' | paste -sd '|'; }
owned_exchanges=()
for x in "$EXCHANGE" "$ALTERNATE" "$DLX"; do owned_exchanges+=("$(quote "$x")"); done
owned_queues=()
for q in "$UNROUTED" "$DLQ" "${QUEUES[@]}"; do owned_queues+=("$(quote "$q")"); done
inbound_exchanges=()
for x in "${INBOUND_EXCHANGES[@]}"; do inbound_exchanges+=("$(quote "$x")"); done
inbound_queues=()
for q in "${INBOUND_QUEUES[@]}"; do inbound_queues+=("$(quote "$q")(\\.retry\\.[0-9]+|\\.dlq)?"); done

CONFIGURE="^($(join "${owned_exchanges[@]}" "${owned_queues[@]}" "${inbound_exchanges[@]}" "${inbound_queues[@]}"))\$"
WRITE="^($(join "${owned_exchanges[@]}" "${owned_queues[@]}" "${inbound_queues[@]}" 'amq\.default'))\$"
READ="^($(join "${owned_exchanges[@]}" "${owned_queues[@]}" "${inbound_exchanges[@]}" "${inbound_queues[@]}"))\$"

if [[ $PRINT -eq 1 ]]; then
  printf 'configure: %s\nwrite:     %s\nread:      %s\n' "$CONFIGURE" "$WRITE" "$READ"
  exit 0
fi

PASSWORD=${RABBITMQ_USER_PASSWORD:-}
if [[ -n "${RABBITMQ_USER_PASSWORD_FILE:-}" ]]; then
  [[ -r "$RABBITMQ_USER_PASSWORD_FILE" ]] || { echo "rabbitmq-user: cannot read RABBITMQ_USER_PASSWORD_FILE '$RABBITMQ_USER_PASSWORD_FILE'" >&2; exit 2; }
  PASSWORD=$(<"$RABBITMQ_USER_PASSWORD_FILE")
fi
[[ -n "$PASSWORD" ]] || { echo "rabbitmq-user: set RABBITMQ_USER_PASSWORD or RABBITMQ_USER_PASSWORD_FILE" >&2; exit 2; }

ctl() {
  if [[ -n "$NODE" ]]; then "$CTL" -q -n "$NODE" "$@"; else "$CTL" -q "$@"; fi
}

if ctl list_users --no-table-headers 2>/dev/null | cut -f1 | grep -qx "$USER_NAME"; then
  # The password goes through stdin, never the command line.
  printf '%s' "$PASSWORD" | ctl change_password "$USER_NAME" >/dev/null ||
    { echo "rabbitmq-user: change_password failed" >&2; exit 1; }
else
  printf '%s' "$PASSWORD" | ctl add_user "$USER_NAME" >/dev/null ||
    { echo "rabbitmq-user: add_user failed" >&2; exit 1; }
fi
ctl set_user_tags "$USER_NAME" >/dev/null  # no management or administrator tag
ctl set_permissions -p "$VHOST" "$USER_NAME" "$CONFIGURE" "$WRITE" "$READ" >/dev/null ||
  { echo "rabbitmq-user: set_permissions failed (does vhost '$VHOST' exist?)" >&2; exit 1; }
echo "rabbitmq-user: user '$USER_NAME' on vhost '$VHOST':"
printf '  configure: %s\n  write:     %s\n  read:      %s\n' "$CONFIGURE" "$WRITE" "$READ"
