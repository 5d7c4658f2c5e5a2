#!/usr/bin/env bash
# Runs the whole test suite. Integration tests start their own redis-server
# on free ports (with their own data dirs), so only the binary is needed (and
# redis-cli, from the same package, which joins the test's Redis Cluster; the
# Sentinels are redis-server --sentinel); the console's test starts its own
# chromedriver and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis-server or redis-cli not found; installing them (Debian package redis-server)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# The console's tests drive a real headless Chromium through chromedriver.
if ! command -v chromedriver >/dev/null 2>&1; then
  echo "chromedriver not found; installing it (Debian packages chromium, chromium-driver)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# tests/deploy_kit.rs verifies the systemd unit with systemd-analyze.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found; installing it (Debian package systemd)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq systemd >/dev/null
fi

cargo test --locked --features failpoints "$@"

# The store contract suite and the end-to-end campaigns once more on a local
# Redis Cluster (three primaries, three replicas per test;
# tests/support/test_redis.rs). Only on a whole run: arguments select tests
# of the first pass.
if [ "$#" -eq 0 ]; then
  echo "== the store contract and e2e suites on a Redis Cluster (SAMPARK_TEST_REDIS=cluster)" >&2
  SAMPARK_TEST_REDIS=cluster cargo test --locked --features failpoints \
    --test store_contract --test e2e -- --skip memory::
fi
