#!/usr/bin/env bash
# Installs the Node packages of the contract tests exactly as package-lock.json pins them
# (`npm ci`), into DEST/node_modules (default: this directory). Does nothing when DEST already
# has this lock installed, so the CTest fixture that runs it (contracts_npm_ci) costs nothing on a
# second run. Node.js and npm come from scripts/install-deps.sh (Debian's nodejs and npm when the
# machine has no npm). Install scripts of dependencies are not run (--ignore-scripts): the
# packages used here need none.
# Usage: tests/contracts/ajv/install.sh [DEST [PACKAGE_DIR]]
# PACKAGE_DIR (default: this directory) holds the package.json and package-lock.json to install;
# tests/browser installs playwright-core with it.
set -euo pipefail
here=$(cd "${2:-$(dirname "$0")}" && pwd)
dest=${1:-$here}
if ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: npm is not installed; scripts/install-deps.sh installs Debian's nodejs and npm" >&2
  exit 1
fi
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$dest/node_modules/.order-service-package-lock.sha256"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
mkdir -p "$dest"
if [[ $dest != "$here" ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$dest/"
fi
echo "install.sh: npm ci in $dest" >&2
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
