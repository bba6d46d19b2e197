#!/usr/bin/env bash
# Dependency gate: cargo-deny checks licences (allow-list in deny.toml), bans,
# sources, and RustSec advisories.
#
# Advisories: cargo-deny first fetches the live RustSec database as it normally
# does (a git clone under $CARGO_HOME/advisory-dbs), with a short timeout. Only
# if that fails (no network) does this script fall back to the newest
# rustsec-advisory-db-*.tar.gz snapshot in shared/data/ beside the repository
# (../shared/data from the repository root). It prints which one it used.
# Details: docs/toolchain.md, "The advisory database".
#
#   bash scripts/deny.sh
#
# DENY_FETCH_TIMEOUT: seconds the online fetch may take (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd -P)"
source scripts/lib/tools.sh
CARGO_DENY_VERSION=0.20.2
fetch_timeout="${DENY_FETCH_TIMEOUT:-60}"
snapshot_dir="$(dirname "$root")/shared/data"

if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  cargo_install cargo-deny "$CARGO_DENY_VERSION" --locked
fi

# Every platform's crates, so the offline metadata cargo-deny reads is complete
# (a machine that never built the wasm app lacks web-sys and friends).
cargo fetch --locked --quiet
cargo deny --offline --locked check licenses bans sources

# cargo-deny keeps the default database under this name.
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
stamp="$db/.snapshot"
aside="$db_root/advisory-db-snapshot-aside"

# 1. The live database. A database unpacked from a snapshot earlier is not a
# clone of the real one: set it aside so cargo-deny clones afresh, and put it
# back if the fetch fails. Fetching separately from checking keeps a failed
# fetch apart from a failed check (an advisory that applies).
log "advisories: fetching the RustSec database (at most ${fetch_timeout}s)"
rm -rf "$aside"
if [ -f "$stamp" ]; then
  mv "$db" "$aside"
fi
if timeout --kill-after=10 "$fetch_timeout" cargo deny --locked fetch db </dev/null; then
  rm -rf "$aside"
  log "advisories (source: live RustSec database, fetched into $db_root)"
  cargo deny --offline --locked check advisories
  exit
fi
echo "deny: fetching the RustSec database failed or timed out (offline?); falling back to a snapshot in $snapshot_dir" >&2
if [ -d "$aside" ]; then
  rm -rf "$db"
  mv "$aside" "$db"
fi

# 2. The newest snapshot beside the repository.
# The names carry the date (rustsec-advisory-db-YYYY-MM-DD), and a glob expands
# sorted, so the last match is the newest.
snapshot=""
for candidate in "$snapshot_dir"/rustsec-advisory-db-*.tar.gz; do
  if [ -f "$candidate" ]; then snapshot=$candidate; fi
done
if [ -z "$snapshot" ]; then
  echo "deny: no RustSec snapshot in $snapshot_dir either: advisories are checked by the GitLab pipeline only" >&2
  exit 0
fi
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
log "advisories (source: snapshot $snapshot)"
cargo deny --offline --locked check advisories
