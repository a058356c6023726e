#!/usr/bin/env bash
# Installs the Debian 12 packages the Order Service needs to build, run and test — only those
# that are missing, so a second run costs a few milliseconds. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake make pkg-config
  # libraries (docs/architecture.md, "Dependencies", says why each one)
  libboost-dev nlohmann-json3-dev libvalijson-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev librabbitmq-dev libssl-dev libgoogle-perftools-dev
  # the system CA store for amqps:// (Amazon MQ), openssl for the TLS tests' certificates
  ca-certificates openssl
  # tests and benchmarks; clang + libclang-rt for the libFuzzer targets (tests/fuzz)
  libgtest-dev libgmock-dev libbenchmark-dev rabbitmq-server wrk sqlite3 curl procps
  # the PostgreSQL store: libpq (its client library), and PostgreSQL 15 itself, which the tests
  # and benchmarks start privately (tests/support/postgres_server.hpp; pgbench is in it)
  libpq-dev postgresql
  clang libclang-rt-14-dev
  # metrics (src/observability: prometheus-cpp core) and promtool, which checks the exposition
  # and the alert rules (deploy/prometheus); the Prometheus server itself is never run
  prometheus-cpp-dev prometheus
  # callgrind instruction counts of the auth benchmark (bench/auth/run_auth_bench.sh)
  valgrind
  # the operator page's browser test (tests/browser: headless, driven by playwright-core from npm)
  chromium
)
# Node.js for the contract tests (tests/contracts/ajv: Ajv, @asyncapi/parser): Debian's, unless npm is already there.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# No system rabbitmq-server or postgresql (tests and the run script start private servers) nor a
# system prometheus (only its promtool is used) may run: Debian's post-install scripts start a package's
# service through invoke-rc.d / deb-systemd-invoke, which obey /usr/sbin/policy-rc.d; exit code 101
# means "not allowed". Ours is in place only during this install, unless one was there already.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# installed by order-service scripts/install-deps.sh for the install only\nexit 101\n' |
    $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# On a booted systemd machine the units are still enabled for the next boot: disable them.
if [[ -d /run/systemd/system ]]; then
  for unit in prometheus rabbitmq-server postgresql; do
    if systemctl cat "$unit" >/dev/null 2>&1; then $SUDO systemctl disable --now "$unit" >/dev/null; fi
  done
fi
