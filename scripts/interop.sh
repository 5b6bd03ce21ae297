#!/usr/bin/env bash
# `npm run test:interop`: tests that need system tools and root: tshark, strongSwan charon in
# network namespaces (test/interop/). Installs what is missing from Debian's packages,
# non-interactively (interop/install.sh: apt-get with DPkg::Lock::Timeout, builds the fake-xfrm
# shim). Namespaces and charon instances are torn down at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash interop/install.sh
  cleanup() {
    bash interop/charon.sh stop-all >/dev/null 2>&1 || true
    bash interop/pluto.sh stop-all >/dev/null 2>&1 || true
    bash interop/capture.sh stop >/dev/null 2>&1 || true
    bash interop/netns.sh down >/dev/null 2>&1 || true
  }
  trap cleanup EXIT
else
  # Without root only the tshark suites can run (the strongSwan suite skips itself and says why).
  if ! command -v tshark >/dev/null 2>&1; then
    echo "test:interop: tshark missing and not root: cannot install (run as root)" >&2
    exit 1
  fi
fi

# The strongSwan suite drives charon instances and namespaces one at a time: no concurrency.
node scripts/run-tests.mjs interop --test-concurrency=1
