#!/usr/bin/env bash
# Runs every test. Installs and starts what it needs first (rustfmt, clippy,
# buf, grpcurl, PostgreSQL, Prometheus tools), so it works on a fresh machine.
#
#   bash scripts/test.sh
#
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names the PostgreSQL server the tests create their databases on.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

# Wall time per stage, printed as a table when the script ends (pass or fail).
stage_names=()
stage_secs=()
stage_name=""
stage_start=$SECONDS
run_start=$SECONDS
stage() {
  local now=$SECONDS
  if [ -n "$stage_name" ]; then
    stage_names+=("$stage_name")
    stage_secs+=($((now - stage_start)))
  fi
  stage_name="$1"
  stage_start=$now
  [ -z "$1" ] || log "$1"
}
stage_report() {
  local status=$?
  stage ""
  printf '\n%-72s %8s\n' "stage" "seconds"
  for i in "${!stage_names[@]}"; do
    printf '%-72s %8d\n' "${stage_names[$i]:0:72}" "${stage_secs[$i]}"
  done
  printf '%-72s %8d\n' "total" $((SECONDS - run_start))
  return $status
}
trap stage_report EXIT

stage "set-up: Rust components, PostgreSQL, buf, grpcurl"

ensure_rust
ensure_postgres
ensure_postgres_server_programs
ensure_buf
ensure_grpcurl

stage "format"
cargo fmt --all -- --check

stage "lint (clippy, warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "dependencies: advisories, licences, bans, sources (cargo-deny)"
bash scripts/deny.sh

stage "proto lint (buf)"
(cd proto && buf lint)

stage "unit and integration tests (PostgreSQL and SQLite), fault drills and bad input (bench/tests/drills)"
cargo test --workspace --locked

stage "fuzzing: filter parser and request validation, time-boxed (scripts/fuzz.sh)"
SECONDS_PER_TARGET="${FUZZ_SECONDS_PER_TARGET:-20}" bash scripts/fuzz.sh

stage "benchmark smoke run: every scenario, small and short, debug build (figures: bash scripts/bench.sh)"
# Proves the load generator, the raw baseline, watch fan-out and overload
# work end to end against the server. Its figures mean little (debug build,
# small board); the real benchmark is a release build, `bash scripts/bench.sh`.
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p target
cargo run --locked --quiet -p tasktracker-bench -- \
  --server-bin "$target_dir/debug/tasktracker-server" --json target/bench-smoke.jsonl \
  --tasks 2000 --warmup 0.5 --duration 1.5 --watch-streams 500 --watch-connections 10 --overload-clients 256

stage "grpcurl tour (README) against the real binary"
bash scripts/grpcurl-tour.sh

stage "web app: unit tests, wasm build and size budget, browser tests in headless Chromium, axe-core"
bash scripts/web-test.sh

stage "observability: promtool, amtool, dashboards, rules (observability/test.sh)"
bash observability/test.sh

stage "observability: a real Prometheus scraping the real server"
bash observability/live-server-check.sh

stage "delivery: hadolint, checkov, terraform parse, pipeline, deploy and backup drills (scripts/lint.sh)"
bash scripts/lint.sh

log "all tests passed"
