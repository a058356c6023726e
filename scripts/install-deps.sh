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
  clang libclang-rt-14-dev
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
# A system rabbitmq-server service is not needed (tests and the run script start private brokers);
# do not let the package's post-install start one on the default port if a policy allows it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
