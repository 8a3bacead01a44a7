#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when they are missing: headless Chromium
# (and its driver) for the browser tests, jemalloc for `serve --malloc` (make serve) and its test, and
# curl for the client-compatibility tests (tests/test_clients.py), HAProxy for the replicas
# behind a load balancer (scripts/replicas.py, tests/test_replicas.py), and Virtuoso 7 for the
# tests of remote mode over Virtuoso (tests/test_remote.py, started by benchmarks/virtuoso.py).
# Uses sudo when not root.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || missing+=(libjemalloc2)
[ -x /usr/bin/curl ] || missing+=(curl)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ -x /usr/bin/virtuoso-t ] || missing+=(virtuoso-opensource-7)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing Debian packages and no apt-get to install them: install ${missing[*]} yourself" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "Installing ${missing[*]} for the tests..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
