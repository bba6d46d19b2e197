#!/usr/bin/env bash
# Runs the product locally: builds the web app (Trunk, into dist/) and the
# server (release), then starts the server on http://127.0.0.1:8080 serving
# both the API and the app from one origin. With no DATABASE_URL it uses an
# embedded SQLite database in ./tasktracker-data. Installs what is missing
# (wasm target, trunk, wasm-bindgen-cli, wasm-opt) on the first run.
#
#   bash scripts/run.sh            # extra arguments go to the server
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_rust
bash scripts/web-build.sh
log "building the server (release)"
cargo build --release --locked -p tasktracker-server
log "starting on ${TASKTRACKER_LISTEN_ADDR:-127.0.0.1:8080} (Ctrl-C stops it)"
export TASKTRACKER_WEB_DIR="${TASKTRACKER_WEB_DIR:-$PWD/dist}"
exec "${CARGO_TARGET_DIR:-target}/release/tasktracker-server" "$@"
