#!/usr/bin/env bash
# Tests the web app: unit tests of its pure logic (host), clippy on the wasm
# build, the bundle size budget, and end-to-end tests in headless Chromium
# (sign-up, projects, tasks, filters, board drag-and-drop and keyboard moves,
# live updates across browsers, etag conflicts, delete + undo, tokens, axe-core
# scans, screenshots in target/e2e-artifacts/) against the real server on a
# fresh PostgreSQL database. Installs what is missing: Chromium and
# chromium-driver (apt), playwright-core and axe-core (npm, into .tools/).
#
#   bash scripts/web-test.sh            # everything above
#   bash scripts/web-test.sh --bench    # also time the first render of a 5,000-task board
#
# WEB_SKIP_BUILD=1 reuses an existing dist/; TASKTRACKER_SERVER=<binary> skips
# building the server. TEST_DATABASE_URL names the PostgreSQL server the tests
# create (and drop) their database on (default postgres://postgres@127.0.0.1:5432/postgres).
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
    log "installing chromium and chromium-driver"
    apt-get install -y -q chromium chromium-driver </dev/null \
      || { apt-get update -q </dev/null && apt-get install -y -q chromium chromium-driver </dev/null; }
  fi
  local have_pw have_axe
  have_pw="$(node -p "require('$TOOLS_DIR/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
  have_axe="$(node -p "require('$TOOLS_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || true)"
  if [ "$have_pw" != "$PLAYWRIGHT_VERSION" ] || [ "$have_axe" != "$AXE_VERSION" ]; then
    log "installing playwright-core $PLAYWRIGHT_VERSION and axe-core $AXE_VERSION into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent \
      "playwright-core@$PLAYWRIGHT_VERSION" "axe-core@$AXE_VERSION" </dev/null
  fi
}

ensure_rust
log "web: unit tests (host)"
cargo test --locked -p tasktracker-web

if [ "${WEB_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/web-build.sh
fi
log "web: clippy on the wasm32 build (the app code the host build leaves out)"
cargo clippy --locked -p tasktracker-web --target wasm32-unknown-unknown -- -D warnings

log "web: bundle size (wasm + js + css, brotli) within ${BUNDLE_BUDGET_KB} KB"
node web/e2e/size.mjs dist "$BUNDLE_BUDGET_KB"

ensure_browser
ensure_postgres
if [ -z "${TASKTRACKER_SERVER:-}" ]; then
  log "web: building the server for the browser tests"
  cargo build --locked -p tasktracker-server
  TASKTRACKER_SERVER="${CARGO_TARGET_DIR:-$PWD/target}/debug/tasktracker-server"
fi
export TOOLS_DIR TASKTRACKER_SERVER

log "web: end-to-end tests in headless Chromium"
node web/e2e/e2e.mjs

if [ "$bench" = 1 ]; then
  log "web: first render of a 5,000-task board"
  node web/e2e/bench-board.mjs
fi
log "web: all tests passed"
