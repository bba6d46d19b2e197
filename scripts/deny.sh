#!/usr/bin/env bash
# Dependency gate, offline: cargo-deny checks licences (allow-list in
# deny.toml), bans, sources, and advisories against the RustSec snapshot in
# ../shared/data (no registry serves the advisory database here; the GitLab
# pipeline fetches the live one instead).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
CARGO_DENY_VERSION=0.20.2

if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  cargo_install cargo-deny "$CARGO_DENY_VERSION" --locked
fi

snapshot=""
for dir in ../shared/data /work/shared/data; do
  found=$(ls "$dir"/rustsec-advisory-db-*.tar.gz 2>/dev/null | sort | tail -n 1 || true)
  if [ -n "$found" ]; then snapshot=$found; break; fi
done

# Every platform's crates, so the offline metadata cargo-deny reads is complete
# (a machine that never built the wasm app lacks web-sys and friends).
cargo fetch --locked --quiet
cargo deny --offline --locked check licenses bans sources

if [ -z "$snapshot" ]; then
  echo "no RustSec snapshot found in ../shared/data: advisories are checked by the GitLab pipeline only" >&2
  exit 0
fi
# cargo-deny looks for the default database under this name.
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
stamp="$db/.snapshot"
if [ "$(cat "$stamp" 2>/dev/null)" != "$(basename "$snapshot")" ]; then
  rm -rf "$db"
  mkdir -p "$db_root"
  tmp=$(mktemp -d)
  tar xzf "$snapshot" -C "$tmp"
  mv "$tmp/advisory-db" "$db"
  rm -rf "$tmp"
  git -C "$db" init -q
  git -C "$db" add -A
  git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost commit -q -m "RustSec snapshot $(basename "$snapshot")"
  touch "$db/.git/FETCH_HEAD"
  basename "$snapshot" >"$stamp"
fi
log "advisories (snapshot $(basename "$snapshot"))"
cargo deny --offline --locked check advisories
