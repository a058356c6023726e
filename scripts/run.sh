#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running Order Service on its embedded default:
# installs what is missing, builds, starts a private local RabbitMQ if none answers on the AMQP
# port, and runs order-service (SQLite at ./data/orders.db, HTTP on 127.0.0.1:8080).
# Extra arguments go to order-service (see `order-service --help`).
#
# Without arguments it runs on loopback in development mode (--auth none: no tokens, every caller
# is an operator; the service warns about it at start and in /readyz). Any argument replaces that
# default: e.g. `bash scripts/run.sh --jwks-file jwks.json --jwt-issuer ... --jwt-audience ...`
# (README, "Authentication").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The service and the operator CLI of the README ("Trying it"), not the test suites.
bash scripts/build.sh release order-service order-events

AMQP_URL=${ORDER_SERVICE_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
AMQP_PORT=$(echo "$AMQP_URL" | sed -E 's#^amqps?://([^@/]*@)?[^:/]*:?([0-9]*).*#\2#')
AMQP_PORT=${AMQP_PORT:-5672}
bash scripts/rabbitmq-local.sh start --port "$AMQP_PORT"

if [[ $# -eq 0 ]]; then
  exec ./build/release/src/main/order-service --listen 127.0.0.1:8080 --auth none
fi
exec ./build/release/src/main/order-service "$@"
