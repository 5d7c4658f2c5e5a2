#!/usr/bin/env bash
# Builds the image of deploy/Containerfile and smoke-tests it (.ci/run runs
# this after deploy/check.sh).
#
# The engine: podman, or docker with a reachable daemon. With neither, podman
# and runc are installed from Debian's packages (as root, or with sudo);
# where that cannot be done the script says so loudly and exits 0. Set
# SAMPARK_CONTAINER_INSTALL=0 to never install.
#
# How the image is built (deploy/README.md, "The image in CI", says why):
# - the sampark binary is the host's stripped release build, handed to the
#   Containerfile's final stage as its "build" stage with
#   `--build-context build=DIR`, so the compiling stage is skipped (it
#   would compile everything again, with crates.io reachable from inside
#   the container);
# - the runtime base is gcr.io/distroless/cc-debian12:nonroot when it can be
#   pulled; when it cannot (this project's machines reach no container
#   registry), a local stand-in of the same shape is made from the host's
#   Debian 12 files (glibc, libgcc_s, CA bundle, zoneinfo, netbase, the
#   nonroot user 65532, no shell) and imported (`podman import`).
#
# The smoke test, the image running as its own user (it must be 65532) on
# a read-only root: `--version`; `serve --check` with the baked settings;
# then Redis (started here, free port, own data dir), the simulator and
# `serve` (both from the image, host network), /healthz and /readyz on the
# admin listener, a campaign submitted with the image's CLI, every
# contact's feedback record in Redis, and SIGTERM: the daemon must exit 0
# within shutdown.grace_secs. Then deploy/compose.yaml as it ships, with
# podman-compose (Debian's package, installed if missing): Redis (a local
# stand-in made from the host's redis-server when the official image cannot
# be pulled), the simulator and two instances up, both ready, the campaign
# submitted inside sampark-1 as the file's header says, every record in the
# fleet's Redis, the fleet down. The image's size is printed last.
#
# The image is tagged localhost/sampark:latest, the one compose.yaml runs.
# Environment: RUNTIME_IMAGE (default the distroless base),
# PULL_TIMEOUT_SECS (default 60), SAMPARK_CONTAINER_INSTALL.
set -euo pipefail
# A failure inside $(…) (a stand-in that could not be made) stops the script.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

IMAGE=localhost/sampark:latest
RUNTIME_IMAGE=${RUNTIME_IMAGE:-gcr.io/distroless/cc-debian12:nonroot}
PULL_TIMEOUT_SECS=${PULL_TIMEOUT_SECS:-60}
STANDIN_REPO=localhost/sampark-ci/cc-debian12
REDIS_STANDIN_REPO=localhost/sampark-ci/redis
# The stand-in's packages: what distroless's cc-debian12 is made of, less
# libssl and libstdc++ (sampark links neither; `--version` in the image
# proves the binary's libraries are all there) and glibc's gconv modules
# (never loaded by sampark). Of ca-certificates only the bundle is taken.
STANDIN_PACKAGES=(libc6 libgcc-s1 tzdata netbase)
CAMPAIGN=docs/examples/first-campaign.json
SID=AC0000000000000000000000000000beef
TOKEN=local-simulator-token
ADMIN_TOKEN=container-smoke-admin-token
CITIZEN_KEY_SECRET=container-smoke-citizen-key-secret-0001

engine=""
project=sampark-smoke-$$
run_flags=()
tmp=""
containers=()
redis_pid=""
fleet=()

say() { echo "== $*"; }
loud() { echo "!! $*" >&2; }

cleanup() {
  local status=$?
  if [ "${#fleet[@]}" -gt 0 ]; then
    "${fleet[@]}" down -v >/dev/null 2>&1 || true
    "$engine" network rm -f "${project}_default" >/dev/null 2>&1 || true
  fi
  for c in "${containers[@]}"; do
    "$engine" kill "$c" >/dev/null 2>&1 || true
    "$engine" rm -f "$c" >/dev/null 2>&1 || true
  done
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  [ -z "$tmp" ] || rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Sets $engine, or returns 1 when none works and none can be installed.
# (Called in a condition, where set -e does not apply: each step says.)
find_engine() {
  if command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
    engine=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  elif [ "${SAMPARK_CONTAINER_INSTALL:-1}" != 0 ] && command -v apt-get >/dev/null 2>&1 &&
    as_root true 2>/dev/null; then
    echo "no container engine; installing podman and runc (Debian packages)" >&2
    as_root apt-get update -qq || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null ||
      return 1
    podman info >/dev/null || return 1
    engine=podman
  else
    return 1
  fi
}

# The smoke test's Redis (and the fleet's stand-in) is the host's: Debian's
# redis-server package, installed if missing as scripts/test.sh does.
need_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  echo "redis-server or redis-cli not found; installing them (Debian package redis-server)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

# Flags for every `run`. Podman's default runtime, crun, cannot start a
# container on a host with cgroups in hybrid mode (this project's machines),
# so runc is used where it is installed. Podman asks for open-files and
# process limits above what such a sandboxed host lets a container set
# (setrlimit fails: "operation not permitted"), so they are given: open
# files the host's own hard limit; processes 4096, ample for sampark's
# threads (this host took 32768 but refused 65536, and its own limit,
# 96365).
set_run_flags() {
  run_flags=(--network host --read-only)
  if [ "$engine" = podman ]; then
    if command -v runc >/dev/null 2>&1; then run_flags+=(--runtime runc); fi
    local files
    files=$(open_files)
    run_flags+=(--ulimit "nofile=$files:$files" --ulimit nproc=4096:4096)
  fi
}

# The host's hard limit of open files, as --ulimit takes it.
open_files() {
  local files
  files=$(ulimit -Hn)
  if [ "$files" = unlimited ]; then echo -1; else echo "$files"; fi
}

# How many contacts the campaign document has.
campaign_contacts() {
  python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["contacts"]))' "$CAMPAIGN"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls "$@" every 0.2 s until it succeeds or $1 seconds pass.
wait_until() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      loud "timed out after ${secs}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# The release binary, stripped, in $tmp/binary/out/sampark (the path the
# Containerfile's final stage copies from its "build" stage).
host_binary() {
  say "release build on the host (cargo build --release --locked --bin sampark)"
  cargo build --release --locked --bin sampark
  local target
  target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  install -D -s -m 0755 "$target/release/sampark" "$tmp/binary/out/sampark"
  echo "binary: $(stat -c %s "$tmp/binary/out/sampark") bytes stripped"
}

image_exists() {
  "$engine" image inspect "$1" >/dev/null 2>&1
}

# Prints the runtime base to build on: the real one if it can be pulled,
# else the local stand-in (made when missing).
runtime_base() {
  if image_exists "$RUNTIME_IMAGE" ||
    timeout "$PULL_TIMEOUT_SECS" "$engine" pull -q "$RUNTIME_IMAGE" >/dev/null 2>&1; then
    echo "$RUNTIME_IMAGE"
    return
  fi
  loud "cannot pull $RUNTIME_IMAGE (no registry reachable): building on a local stand-in"
  # Named by the host packages it is made of and by how it is made, so it
  # is made again only when either changes (a Debian update, this script).
  local tag standin
  tag=$({ dpkg-query -W "${STANDIN_PACKAGES[@]}" ca-certificates && declare -f make_standin; } |
    sha256sum | cut -c1-12)
  standin="$STANDIN_REPO:$tag"
  if ! image_exists "$standin"; then
    make_standin "$standin" >&2
    drop_older "$STANDIN_REPO" "$standin"
  fi
  echo "$standin"
}

# Removes the images of repository $1 other than $2: stand-ins made before
# a Debian update or a change of this script (one still under another
# image stays).
drop_older() {
  local old
  for old in $("$engine" images --format '{{.Repository}}:{{.Tag}}' "$1"); do
    if [ "$old" != "$2" ]; then "$engine" rmi "$old" >/dev/null 2>&1 || true; fi
  done
}

# A distroless-like root filesystem from the host's Debian 12 packages,
# imported as $1.
make_standin() {
  local image=$1 root="$tmp/rootfs"
  if ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release || [ ! -L /lib ]; then
    loud "the stand-in base is made from the files of Debian 12 (bookworm, merged /usr);"
    loud "this host is not that: give RUNTIME_IMAGE a base that can be pulled"
    return 1
  fi
  say "making the stand-in base $image from the host's ${STANDIN_PACKAGES[*]} and CA bundle"
  mkdir -p "$root"/usr/{lib,lib64,share} "$root"/{etc/ssl/certs,tmp,home/nonroot,var}
  # Debian 12 has merged /usr: /lib and /lib64 are links into /usr.
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp"
  # Every file of the packages but their documentation, at its real path:
  # the package lists name /lib/…, which is /usr/lib/… on merged /usr.
  dpkg -L "${STANDIN_PACKAGES[@]}" |
    grep -Ev '^/usr/share/(doc|man|lintian|locale|bug)/|/gconv/' |
    sed -E 's#^/(lib|lib64|bin|sbin)/#/usr/\1/#' |
    while IFS= read -r path; do
      if [ ! -d "$path" ] && { [ -f "$path" ] || [ -L "$path" ]; }; then echo "${path#/}"; fi
    done >"$tmp/files"
  tar -C / --no-recursion -cf - -T "$tmp/files" | tar -C "$root" -xf -
  # The CA bundle, as update-ca-certificates made it on the host.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
  cp /etc/os-release "$root/etc/os-release"
  chown 65532:65532 "$root/home/nonroot"
  local quiet=()
  if [ "$engine" = podman ]; then quiet=(--quiet); fi
  tar -C "$root" --numeric-owner -cf - . |
    "$engine" import "${quiet[@]}" \
      --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      - "$image" >/dev/null
}

build_image() {
  local base=$1 previous
  previous=$("$engine" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  say "building $IMAGE on $base ($engine build, the binary from the host)"
  "$engine" build -q -f deploy/Containerfile --build-arg "RUNTIME_IMAGE=$base" \
    --build-context "build=$tmp/binary" -t "$IMAGE" . >/dev/null
  # The image this tag named before, if nothing else names it now.
  if [ -n "$previous" ] && [ "$previous" != "$("$engine" image inspect --format '{{.Id}}' "$IMAGE")" ] &&
    [ -z "$("$engine" image inspect --format '{{join .RepoTags ","}}' "$previous" 2>/dev/null)" ]; then
    "$engine" rmi "$previous" >/dev/null 2>&1 || true
  fi
}

# Runs the image once, to completion.
run_once() {
  "$engine" run --rm "${run_flags[@]}" "$@"
}

# Starts a detached container named $1 from the image; the rest are its
# flags, then the image's arguments after "--".
start() {
  local name=$1
  shift
  local flags=()
  while [ "$1" != -- ]; do
    flags+=("$1")
    shift
  done
  shift
  containers+=("$name")
  "$engine" run -d --name "$name" "${run_flags[@]}" "${flags[@]}" "$IMAGE" "$@" >/dev/null
}

# The feedback records in Redis on port $1.
feedback_records() {
  redis-cli -p "$1" XLEN sampark:feedback
}

# Whether Redis on port $1 holds $2 feedback records.
has_records() {
  [ "$(feedback_records "$1")" = "$2" ]
}

# Whether container $1 has stopped.
stopped() {
  [ "$("$engine" inspect --format '{{.State.Running}}' "$1")" = false ]
}

# Whether GET $1 answers 200.
http_ok() {
  python3 - "$1" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

smoke() {
  local suffix=$$ redis_port sim_port webhook_port admin_port
  say "$IMAGE: its user, --version, serve --check (baked settings)"
  local user
  user=$("$engine" image inspect --format '{{.Config.User}}' "$IMAGE")
  if [ "$user" != 65532:65532 ]; then
    loud "the image runs as \"$user\", not as 65532:65532 (distroless's nonroot)"
    return 1
  fi
  run_once "$IMAGE" --version
  # The secrets the baked settings leave unset, as a deployment gives them.
  run_once -e "SAMPARK__PROVIDER__ACCOUNT_SID=$SID" -e "SAMPARK__PROVIDER__AUTH_TOKEN=$TOKEN" \
    -e "SAMPARK__POLICY__CITIZEN_KEY_SECRET=$CITIZEN_KEY_SECRET" "$IMAGE" \
    serve --check --config /opt/sampark/config/sampark.toml

  redis_port=$(free_port)
  mkdir -p "$tmp/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" \
    --appendonly yes --save '' --daemonize no >"$tmp/redis/log" 2>&1 &
  redis_pid=$!
  wait_until 10 "redis-server on port $redis_port" redis-cli -p "$redis_port" ping

  sim_port=$(free_port)
  webhook_port=$(free_port)
  admin_port=$(free_port)
  say "simulator and serve from the image (Redis on $redis_port, admin on $admin_port)"
  start "sampark-smoke-simulator-$suffix" -- simulate-provider \
    --listen "127.0.0.1:$sim_port" --account-sid "$SID" --auth-token "$TOKEN" --seed 7
  # The compose fleet's settings (deploy/compose.toml), with the addresses
  # of this host network.
  start "sampark-smoke-serve-$suffix" \
    -v "$PWD/deploy/compose.toml:/opt/sampark/config/compose.toml:ro" \
    -e "SAMPARK__REDIS__URL=redis://127.0.0.1:$redis_port/" \
    -e "SAMPARK__PROVIDER__BASE_URL=http://127.0.0.1:$sim_port" \
    -e "SAMPARK__WEBHOOK__LISTEN=127.0.0.1:$webhook_port" \
    -e "SAMPARK__WEBHOOK__PUBLIC_URL=http://127.0.0.1:$webhook_port" \
    -e "SAMPARK__ADMIN__LISTEN=127.0.0.1:$admin_port" \
    -e "SAMPARK__ADMIN__TOKEN=$ADMIN_TOKEN" \
    -e "SAMPARK__POLICY__CITIZEN_KEY_SECRET=$CITIZEN_KEY_SECRET" \
    -- serve --config /opt/sampark/config/compose.toml
  local serve="sampark-smoke-serve-$suffix"
  wait_until 30 "/healthz" http_ok "http://127.0.0.1:$admin_port/healthz" || {
    "$engine" logs "$serve" | tail -20
    return 1
  }
  wait_until 30 "/readyz" http_ok "http://127.0.0.1:$admin_port/readyz"

  local contacts
  contacts=$(campaign_contacts)
  say "submitting $CAMPAIGN ($contacts contacts) with the image's CLI"
  run_once -v "$PWD/docs/examples:/opt/sampark/examples:ro" "$IMAGE" \
    campaign submit "/opt/sampark/examples/$(basename "$CAMPAIGN")" \
    --redis "redis://127.0.0.1:$redis_port/"
  wait_until 180 "$contacts feedback records" has_records "$redis_port" "$contacts" || {
    echo "feedback records: $(feedback_records "$redis_port")" >&2
    "$engine" logs "$serve" | tail -20
    return 1
  }
  echo "feedback records: $(feedback_records "$redis_port") of $contacts"

  local grace started code
  grace=$(sed -n 's/^grace_secs = \([0-9]*\).*/\1/p' config/sampark.toml)
  say "SIGTERM to serve: it must exit 0 within shutdown.grace_secs (${grace}s)"
  started=$SECONDS
  "$engine" kill --signal TERM "$serve" >/dev/null
  wait_until "$grace" "serve to exit" stopped "$serve" || {
    "$engine" logs "$serve" | tail -20
    return 1
  }
  code=$("$engine" inspect --format '{{.State.ExitCode}}' "$serve")
  echo "serve exited with $code after $((SECONDS - started))s"
  if [ "$code" != 0 ]; then
    "$engine" logs "$serve" | tail -20
    return 1
  fi
}

# The Redis image compose.yaml names, if it is present or can be pulled;
# else a local stand-in on base $1 (printed).
redis_image() {
  local base=$1 wanted tag standin
  wanted=$(sed -n 's/.*SAMPARK_REDIS_IMAGE:-\([^}]*\)}.*/\1/p' deploy/compose.yaml)
  if image_exists "$wanted" ||
    timeout "$PULL_TIMEOUT_SECS" "$engine" pull -q "$wanted" >/dev/null 2>&1; then
    echo "$wanted"
    return
  fi
  loud "cannot pull $wanted (no registry reachable): the fleet runs a local stand-in"
  tag=$({ redis-server --version && echo "$base" && declare -f make_redis_standin; } |
    sha256sum | cut -c1-12)
  standin="$REDIS_STANDIN_REPO:$tag"
  if ! image_exists "$standin"; then
    make_redis_standin "$standin" "$base" >&2
    drop_older "$REDIS_STANDIN_REPO" "$standin"
  fi
  echo "$standin"
}

# Image $1: base $2 with the host's redis-server and redis-cli and the
# libraries they load beyond glibc and libgcc_s (which the base has),
# running as uid 65532 in /data, its own directory (a volume mounted there
# starts with that owner), where the official image keeps its data too.
make_redis_standin() {
  local image=$1 base=$2 dir="$tmp/redis-image" lib
  say "making the Redis stand-in $image from the host's $(redis-server --version | cut -d' ' -f1-3)"
  mkdir -p "$dir/root/usr/local/bin" "$dir/root/usr/lib/x86_64-linux-gnu" "$dir/data"
  cp -L "$(command -v redis-server)" "$dir/root/usr/local/bin/redis-server"
  cp -L "$(command -v redis-cli)" "$dir/root/usr/local/bin/redis-cli"
  ldd "$(command -v redis-server)" "$(command -v redis-cli)" |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
    grep -Ev '/(libc|libm|libgcc_s)\.so\.' |
    while IFS= read -r lib; do
      cp -L "$lib" "$dir/root/usr/lib/x86_64-linux-gnu/"
    done
  cat >"$dir/Containerfile" <<'EOF'
ARG BASE
FROM ${BASE}
COPY root/ /
COPY --chown=65532:65532 data/ /data/
WORKDIR /data
USER 65532:65532
ENTRYPOINT []
CMD ["redis-server"]
EOF
  "$engine" build -q --build-arg "BASE=$base" -t "$image" "$dir" >/dev/null
}

# The name of the fleet's container of service $1.
fleet_container() {
  "$engine" ps --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}'
}

# The feedback records in the fleet's Redis (asked as the ACL template's
# ops user, with its placeholder password).
fleet_records() {
  "$engine" exec "$(fleet_container redis)" \
    redis-cli --user ops --pass change-me-ops --no-auth-warning XLEN sampark:feedback
}

fleet_has_records() {
  [ "$(fleet_records)" = "$1" ]
}

# deploy/compose.yaml brought up as it ships (podman-compose, from Debian's
# packages), on base $1: both instances ready, a campaign submitted inside
# sampark-1 as the file's header says, every record in the fleet's Redis,
# and the fleet taken down.
fleet_smoke() {
  if [ "$engine" != podman ]; then
    loud "COMPOSE FLEET NOT RUN: this script brings it up with podman-compose only"
    return 0
  fi
  if ! command -v podman-compose >/dev/null 2>&1; then
    if [ "${SAMPARK_CONTAINER_INSTALL:-1}" = 0 ] || ! as_root true 2>/dev/null; then
      loud "COMPOSE FLEET NOT RUN: podman-compose is not installed"
      return 0
    fi
    echo "installing podman-compose (Debian package)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
  fi
  local redis admin1 admin2 contacts files
  redis=$(redis_image "$1")
  admin1=$(free_port)
  admin2=$(free_port)
  # podman-compose takes no runtime or limits of its own: the flags of
  # set_run_flags go in a containers.conf for it.
  files=$(open_files)
  {
    echo '[containers]'
    echo "default_ulimits = [\"nofile=$files:$files\", \"nproc=4096:4096\"]"
    if command -v runc >/dev/null 2>&1; then printf '[engine]\nruntime = "runc"\n'; fi
  } >"$tmp/containers.conf"
  fleet=(env "CONTAINERS_CONF=$tmp/containers.conf" "SAMPARK_REDIS_IMAGE=$redis"
    "SAMPARK_1_ADMIN_PORT=$admin1" "SAMPARK_2_ADMIN_PORT=$admin2"
    podman-compose -p "$project" -f deploy/compose.yaml)
  say "compose.yaml up (project $project, Redis $redis, admin ports $admin1 and $admin2)"
  "${fleet[@]}" up -d >"$tmp/compose.log" 2>&1 || {
    tail -20 "$tmp/compose.log"
    return 1
  }
  wait_until 60 "sampark-1's /readyz" http_ok "http://127.0.0.1:$admin1/readyz"
  wait_until 60 "sampark-2's /readyz" http_ok "http://127.0.0.1:$admin2/readyz"
  contacts=$(campaign_contacts)
  say "submitting $CAMPAIGN inside sampark-1 (the command of compose.yaml's header)"
  "$engine" exec "$(fleet_container sampark-1)" sampark campaign submit \
    "/opt/sampark/examples/$(basename "$CAMPAIGN")" \
    --redis redis://sampark:change-me-sampark@redis:6379/
  wait_until 180 "$contacts feedback records in the fleet's Redis" fleet_has_records "$contacts" || {
    echo "feedback records: $(fleet_records)" >&2
    "$engine" logs "$(fleet_container sampark-1)" | tail -10
    return 1
  }
  echo "feedback records: $(fleet_records) of $contacts"
  say "compose.yaml down"
  "${fleet[@]}" down -v >>"$tmp/compose.log" 2>&1
  "$engine" network rm -f "${project}_default" >/dev/null 2>&1 || true
  fleet=()
}

main() {
  if ! find_engine; then
    loud "CONTAINER IMAGE NOT BUILT OR SMOKE-TESTED: no working container engine"
    loud "(podman, or docker with a reachable daemon) and none could be installed."
    exit 0
  fi
  need_redis
  set_run_flags
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/sampark-container-smoke.XXXXXX")
  local base
  host_binary
  base=$(runtime_base)
  build_image "$base"
  smoke
  fleet_smoke "$base"
  say "image $IMAGE on $base: $("$engine" image inspect --format '{{.Size}}' "$IMAGE") bytes" \
    "($engine image inspect --format '{{.Size}}' $IMAGE)"
}

main "$@"
