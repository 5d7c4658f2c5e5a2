#!/usr/bin/env bash
# Counts the daemon's instructions per completed call: the daemon runs
# under valgrind's callgrind while the simulator (natively) answers every
# call of a 3-question campaign, once with SMALL and once with LARGE
# contacts (COUNT=simulator counts the simulator's instead, the daemon
# running natively); the difference of the two totals over the difference of the
# calls is the work of one call, start-up and idle loops left out.
# Instruction counts do not move with the host's speed or another guest's
# load, so two builds compare in one run each (docs/performance.md, "The
# daemon's work per call, counted").
#
#   [COUNT=daemon|simulator] scripts/call_instructions.sh [BINARY] [SMALL] [LARGE]
#
# BINARY defaults to target/release/sampark. Needs valgrind, redis-server,
# curl and python3. Under valgrind no CPU extension beyond its own is seen:
# SHA-1 and SHA-256 run in software, so the signatures weigh more here than
# on a CPU with SHA instructions. Leaves its files in a temporary directory
# it names.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(realpath "${1:-target/release/sampark}")
small=${2:-1000}
large=${3:-3000}
who=${COUNT:-daemon}
case "$who" in
  daemon | simulator) ;;
  *) echo "COUNT is daemon or simulator, not $who" >&2; exit 2 ;;
esac
sid=AC0000000000000000000000000000c0de
token=call-instructions-token
dir=$(mktemp -d /tmp/sampark-callgrind.XXXXXX)
echo "files in $dir" >&2

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The bench's campaign (benches/scale.rs, `write_campaign`): N contacts of
# 200 officials on the feedback plan.
campaign() {
  python3 - "$1" "$2" <<'EOF'
import sys
n, cid = int(sys.argv[1]), sys.argv[2]
contacts = ",".join(
    f'{{"id": "c-{i:07}", "phone": "+9197{i:08}", "language": "en", '
    f'"official_id": "off-{i % 200}", "office": "Office", "service": "Service"}}'
    for i in range(n))
sys.stdout.write(f'{{"version": 1, "id": "{cid}", "name": "count", '
                 '"dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", '
                 f'"department": "bench", "contacts": [{contacts}]}}')
EOF
}

# One run of `calls` contacts; prints the counted process's instructions.
count() {
  local calls=$1 run="$dir/$1"
  mkdir -p "$run"
  local redis sim web admin
  redis=$(free_port) sim=$(free_port) web=$(free_port) admin=$(free_port)
  redis-server --port "$redis" --dir "$run" --appendonly yes --save "" \
    --daemonize yes --logfile "$run/redis.log"
  local url="redis://127.0.0.1:$redis"
  local under_sim=() under_daemon=()
  if [ "$who" = simulator ]; then
    under_sim=(valgrind --tool=callgrind --callgrind-out-file="$run/callgrind.out")
  else
    under_daemon=(valgrind --tool=callgrind --callgrind-out-file="$run/callgrind.out")
  fi
  "${under_sim[@]}" "$bin" simulate-provider --listen "127.0.0.1:$sim" --account-sid "$sid" \
    --auth-token "$token" --seed 7 --answer-rate 1 --busy-rate 0 \
    --no-answer-rate 0 --failed-rate 0 --invalid-key-rate 0 --silent-rate 0 \
    --opt-out-rate 0 --hangup-rate 0 --max-concurrent 100000 \
    --calls-per-second 100000 --log-level warn >"$run/simulator.log" 2>&1 &
  local simulator=$!
  # Any HTTP reply (a 404 here) says it listens; under valgrind it starts
  # slowly.
  until curl -s -o /dev/null "http://127.0.0.1:$sim/"; do sleep 0.2; done
  cat >"$run/sampark.toml" <<EOF
[redis]
url = "$url"
[provider]
base_url = "http://127.0.0.1:$sim"
account_sid = "$sid"
auth_token = "$token"
calls_per_second = 10000
max_concurrent_calls = 256
choice_hints = true
[webhook]
listen = "127.0.0.1:$web"
public_url = "http://127.0.0.1:$web"
[admin]
listen = "127.0.0.1:$admin"
[dialer]
instance = "count"
batch_size = 256
[rate.default]
burst = 1000
per_secs = 0.001
[policy.calling_window]
zone = "UTC"
ranges = ["00:00-24:00"]
[dialplans]
dir = "$PWD/dialplans"
[log]
level = "warn"
EOF
  SAMPARK__POLICY__CITIZEN_KEY_SECRET=call-instructions-citizen-secret \
    "${under_daemon[@]}" "$bin" serve --config "$run/sampark.toml" >"$run/daemon.log" 2>&1 &
  local daemon=$!
  until curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null; do sleep 0.2; done
  campaign "$calls" count >"$run/campaign.json"
  "$bin" campaign submit "$run/campaign.json" --redis "$url" --dialplans dialplans >/dev/null 2>&1
  local finished=0
  while [ "$finished" != "$calls" ]; do
    sleep 0.5
    finished=$("$bin" campaign status count --redis "$url" --json 2>/dev/null |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["finished"])' 2>/dev/null || true)
  done
  kill -TERM "$daemon"
  wait "$daemon" || true
  kill -TERM "$simulator"
  wait "$simulator" || true
  redis-cli -p "$redis" shutdown nosave >/dev/null 2>&1 || true
  callgrind_annotate "$run/callgrind.out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }'
}

first=$(count "$small")
second=$(count "$large")
echo "$small calls: $first instructions; $large calls: $second"
echo "per call: $(((second - first) / (large - small))) instructions"
