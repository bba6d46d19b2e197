#!/usr/bin/env bash
# Runs every test. Installs and starts what it needs first (rustfmt, clippy,
# buf, grpcurl, PostgreSQL, Prometheus tools), so it works on a fresh machine.
#
#   bash scripts/test.sh
#
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names the PostgreSQL server the tests create their databases on (copies of
# one migrated template, testkit/, dropped at the end).
#
# TASKTRACKER_SKIP_STAGES=fmt,clippy,deny,buf,lint (any of those, comma
# separated) skips stages that have a job of their own in the GitLab
# pipeline; WEB_SKIP_BUILD=1 and WEB_SKIP_CLIPPY=1 (scripts/web-test.sh) the
# wasm build and its clippy. .ci/run skips nothing.
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
skipped() { case ",${TASKTRACKER_SKIP_STAGES:-}," in *",$1,"*) return 0 ;; esac; return 1; }
skip_note() { log "skipped: $1 (TASKTRACKER_SKIP_STAGES)"; }

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
testkit_bin="$target_dir/debug/tasktracker-testkit"
# The template databases the testkit made, dropped however the run ends.
drop_templates() {
  if [ -x "$testkit_bin" ]; then
    "$testkit_bin" drop-templates || echo "warning: could not drop the test template databases" >&2
  fi
}
# Jobs that run in the background beside the foreground stages, each with
# its output in a log under the target directory; `finish_job` waits for one,
# prints its log and fails the run if it failed. Each runs in a process group
# of its own, so a failing run stops all of it.
declare -A job_pids=()
start_job() {
  local name="$1"
  shift
  mkdir -p "$target_dir"
  log "$name started in the background; log: $target_dir/$name.log"
  set -m
  "$@" >"$target_dir/$name.log" 2>&1 </dev/null &
  job_pids[$name]=$!
  set +m
}
finish_job() {
  local name="$1" status=0
  wait "${job_pids[$name]}" || status=$?
  unset "job_pids[$name]"
  cat "$target_dir/$name.log"
  [ "$status" = 0 ] || { echo "$name failed (status $status)" >&2; exit "$status"; }
}
stop_jobs() {
  local pid
  for pid in "${job_pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap 'status=$?; stop_jobs; drop_templates; stage_report; exit $status' EXIT

stage "set-up: Rust components, PostgreSQL, buf, grpcurl, cargo-nextest, aiosmtpd, moto, oidc-provider"

ensure_rust
ensure_postgres
ensure_postgres_server_programs
ensure_buf
ensure_grpcurl
ensure_cargo_nextest
ensure_aiosmtpd
ensure_moto
ensure_oidc_provider

# The delivery lint (scripts/lint.sh) shares nothing with the Rust stages
# and spends much of its time waiting (package downloads, emulators, process
# start-up): it runs from the start, and the last stage waits for it.
if skipped lint; then skip_note "delivery lint"; else
  start_job delivery-lint bash scripts/lint.sh
fi

if skipped fmt; then skip_note format; else
  stage "format"
  cargo fmt --all -- --check
fi

if skipped clippy; then skip_note clippy; else
  stage "lint (clippy, warnings denied)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

if skipped deny; then skip_note cargo-deny; else
  stage "dependencies: advisories, licences, bans, sources (cargo-deny)"
  bash scripts/deny.sh
fi

if skipped buf; then skip_note buf; else
  stage "proto: buf lint, buf breaking against the previous commit"
  (cd proto && buf lint)
  # The previous commit when history has one (a shallow or single-commit
  # clone has not: then against HEAD itself, which only proves buf runs).
  if git rev-parse --verify --quiet HEAD~1 >/dev/null; then against=HEAD~1; else
    against=HEAD
    echo "buf breaking: no previous commit in this clone (shallow?); comparing with HEAD"
  fi
  (cd proto && buf breaking --against "$(git rev-parse --show-toplevel)/.git#ref=$against,subdir=proto")
  echo "buf breaking: no breaking change against $against"
fi

stage "build: every test binary, the server, the bench and the testkit, once (cargo test --workspace --no-run)"
# One build with the workspace's unified features: the server and bench
# binaries it makes (bin targets of packages with integration tests) are what
# every later stage runs, so nothing rebuilds with another feature set.
cargo test --workspace --locked --no-run
export TASKTRACKER_SERVER_BIN="$target_dir/debug/tasktracker-server"
export TASKTRACKER_TESTKIT_BIN="$testkit_bin"
bench_bin="$target_dir/debug/tasktracker-bench"
"$TASKTRACKER_TESTKIT_BIN" template >/dev/null

# Two more background jobs, beside the native tests (which wait on
# PostgreSQL and sockets as much as on the CPU):
# - the web app's wasm build (Trunk, wasm-opt) and its wasm clippy: mostly
#   one core's work (one codegen unit, LTO), in build directories of their
#   own (the wasm target and profile), so neither waits on the native build;
# - the observability checks: a real Prometheus scraping the real server
#   for a minute is mostly waiting.
web_built=""
if [ "${WEB_SKIP_BUILD:-0}" != 1 ]; then
  web_built=1
  start_job web-build bash -c 'bash scripts/web-build.sh
    if [ "${WEB_SKIP_CLIPPY:-0}" != 1 ]; then
      echo "web: clippy on the wasm32 build (the app code the host build leaves out)"
      cargo clippy --locked -p tasktracker-web --target wasm32-unknown-unknown -- -D warnings
    fi'
fi
start_job observability bash -c 'bash observability/test.sh && bash observability/live-server-check.sh'

stage "unit and integration tests (PostgreSQL and SQLite), fault drills and bad input (bench/tests/drills), fuzz corpus replay and property runs (testkit/fuzz-checks)"
if cargo nextest --version >/dev/null 2>&1; then
  # Test binaries run side by side (.config/nextest.toml: the heavy drills
  # take turns); doctests are not nextest's, so cargo runs them after.
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked
fi

stage "benchmark smoke run: every scenario, small and short, debug build (figures: bash scripts/bench.sh)"
# Proves the load generator, both baselines (every call must succeed, so
# their SQL runs), the open loop, watch fan-out and overload work end to end
# against the server. Its figures mean little (debug build,
# small board); the real benchmark is a release build, `bash scripts/bench.sh`.
mkdir -p target
"$bench_bin" --server-bin "$TASKTRACKER_SERVER_BIN" --json target/bench-smoke.jsonl --fail-on-errors \
  --tasks 2000 --warmup 0.5 --duration 1.5 --open-rate 300 --watch-streams 500 --watch-connections 10 --overload-clients 256

stage "grpcurl tour (README) against the real binary"
bash scripts/grpcurl-tour.sh

stage "web app: waiting for its build and clippy (background), size budget, browser tests in headless Chromium, axe-core"
if [ -n "$web_built" ]; then
  finish_job web-build
  export WEB_SKIP_BUILD=1 WEB_SKIP_CLIPPY=1
fi
# The host unit tests ran with the workspace's.
WEB_SKIP_HOST_TESTS=1 bash scripts/web-test.sh

stage "observability (background): promtool, amtool, dashboards, rules; a real Prometheus scraping the real server"
finish_job observability

if [ -n "${job_pids[delivery-lint]:-}" ]; then
  stage "delivery: hadolint, checkov, terraform parse, pipeline, deploy and backup drills (scripts/lint.sh, background)"
  finish_job delivery-lint
fi

log "all tests passed"
