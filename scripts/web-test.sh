#!/usr/bin/env bash
# Tests the web app: unit tests of its pure logic (host), clippy on the wasm
# build, the bundle size budget, and end-to-end tests in headless Chromium
# (sign-up, projects, tasks, filters, board drag-and-drop and keyboard moves,
# live updates across browsers, etag conflicts, delete + undo, tokens, task
# relations picked with the combobox and the blocker rule, custom fields
# (owners' Fields page by keyboard, values on the task page and the board's
# cards, the list's `cf.` field filter and its error), the header's search
# box (a typo found, matches marked as text, Enter opens the task), project
# webhooks (a receiver on loopback gets a signed delivery, the log shows it,
# Redeliver sends it again), single sign-on through a real OpenID Connect
# provider (oidc-provider) and the 2FA-less callback, axe-core
# scans, screenshots in target/e2e-artifacts/) against the real server on a
# fresh PostgreSQL database. Installs what is missing: Chromium and
# chromium-driver (apt), playwright-core and axe-core (npm, into .tools/).
#
#   bash scripts/web-test.sh            # everything above
#   bash scripts/web-test.sh --bench    # also time the first render of a 5,000-task board
#
# WEB_SKIP_BUILD=1 reuses an existing dist/; WEB_SKIP_HOST_TESTS=1 skips the
# host unit tests and WEB_SKIP_CLIPPY=1 the wasm clippy (test.sh and the
# pipeline run those elsewhere). TASKTRACKER_SERVER_BIN=<binary> and
# TASKTRACKER_TESTKIT_BIN=<binary> skip building the server and the testkit
# (the old name TASKTRACKER_SERVER still works). TEST_DATABASE_URL names the
# PostgreSQL server the tests create (and drop) their database on, through
# the testkit (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

PLAYWRIGHT_VERSION=1.65.1
AXE_VERSION=4.14.1
BUNDLE_BUDGET_KB=350
bench=0
[ "${1:-}" = "--bench" ] && bench=1
export CI="${CI:-true}" DEBIAN_FRONTEND=noninteractive

ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  npm_install playwright-core "$PLAYWRIGHT_VERSION"
  npm_install axe-core "$AXE_VERSION"
  # The harness's single sign-on provider.
  ensure_oidc_provider
}

ensure_rust
if [ "${WEB_SKIP_HOST_TESTS:-0}" != 1 ]; then
  log "web: unit tests (host)"
  cargo test --locked -p tasktracker-web
fi

if [ "${WEB_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/web-build.sh
fi
if [ "${WEB_SKIP_CLIPPY:-0}" != 1 ]; then
  log "web: clippy on the wasm32 build (the app code the host build leaves out)"
  cargo clippy --locked -p tasktracker-web --target wasm32-unknown-unknown -- -D warnings
fi

log "web: bundle size (wasm + js + css, brotli) within ${BUNDLE_BUDGET_KB} KB"
node web/e2e/size.mjs dist "$BUNDLE_BUDGET_KB"

ensure_browser
ensure_postgres
TASKTRACKER_SERVER_BIN="${TASKTRACKER_SERVER_BIN:-${TASKTRACKER_SERVER:-}}"
if [ -z "$TASKTRACKER_SERVER_BIN" ] || [ -z "${TASKTRACKER_TESTKIT_BIN:-}" ]; then
  log "web: building the server and the testkit (test databases) for the browser tests"
  cargo build --locked -p tasktracker-server -p tasktracker-testkit --bins
  bin_dir="${CARGO_TARGET_DIR:-$PWD/target}/debug"
  TASKTRACKER_SERVER_BIN="${TASKTRACKER_SERVER_BIN:-$bin_dir/tasktracker-server}"
  TASKTRACKER_TESTKIT_BIN="${TASKTRACKER_TESTKIT_BIN:-$bin_dir/tasktracker-testkit}"
fi
export TOOLS_DIR TASKTRACKER_SERVER_BIN TASKTRACKER_TESTKIT_BIN

log "web: end-to-end tests in headless Chromium"
node web/e2e/e2e.mjs

if [ "$bench" = 1 ]; then
  log "web: first render of a 5,000-task board"
  node web/e2e/bench-board.mjs
fi
log "web: all tests passed"
