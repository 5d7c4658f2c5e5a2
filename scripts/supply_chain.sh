#!/usr/bin/env bash
# Supply-chain checks (.ci/run runs this): `cargo deny` for licences,
# duplicate versions, sources and security advisories, and `cargo audit`
# for advisories against the whole Cargo.lock (test-only crates included).
# deny.toml says what is allowed and why.
#
# Both read the RustSec advisory database, a git repository on GitHub. Where
# GitHub cannot be reached (the CI machines of this project cannot), a copy
# already on the machine is used: $ADVISORY_DB, or cargo-deny's own
# ($CARGO_HOME/advisory-dbs/advisory-db-3157b0e258782691). With neither, the
# advisory part is skipped and says so loudly; licences, duplicates and
# sources are always checked.
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
AUDIT_VERSION=0.22.2
cargo_home=${CARGO_HOME:-$HOME/.cargo}

if ! cargo deny --version 2>/dev/null | grep -q "$DENY_VERSION"; then
  echo "installing cargo-deny $DENY_VERSION (crates.io)" >&2
  cargo install --locked --quiet cargo-deny --version "$DENY_VERSION"
fi
if ! cargo audit --version 2>/dev/null | grep -q "$AUDIT_VERSION"; then
  echo "installing cargo-audit $AUDIT_VERSION (crates.io)" >&2
  cargo install --locked --quiet cargo-audit --version "$AUDIT_VERSION"
fi

echo "== cargo deny check licenses bans sources"
cargo deny --locked check licenses bans sources

db=${ADVISORY_DB:-$cargo_home/advisory-dbs/advisory-db-3157b0e258782691}
if [ -d "$db/.git" ]; then
  echo "== advisories from $db (last change $(git -C "$db" log -1 --format=%cs))"
  if [ "$db" != "$cargo_home/advisory-dbs/advisory-db-3157b0e258782691" ]; then
    mkdir -p "$cargo_home/advisory-dbs"
    rm -rf "$cargo_home/advisory-dbs/advisory-db-3157b0e258782691"
    git clone -q "$db" "$cargo_home/advisory-dbs/advisory-db-3157b0e258782691"
  fi
  cargo deny --offline --locked check advisories
  cargo audit --no-fetch --db "$db" --deny warnings
elif timeout 120 cargo deny --locked check advisories; then
  cargo audit --deny warnings
else
  echo "!! ADVISORIES NOT CHECKED: the RustSec database could not be fetched" >&2
  echo "!! (GitHub unreachable) and no local copy was found; set ADVISORY_DB." >&2
fi
