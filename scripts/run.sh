#!/usr/bin/env bash
# Runs the product locally: builds the server (release) and starts it on
# http://127.0.0.1:8080. With no DATABASE_URL it uses an embedded SQLite
# database in ./tasktracker-data, so nothing else needs installing.
#
#   bash scripts/run.sh            # extra arguments go to the server
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_rust
log "building the server (release)"
cargo build --release --locked -p tasktracker-server
log "starting on ${TASKTRACKER_LISTEN_ADDR:-127.0.0.1:8080} (Ctrl-C stops it)"
exec ./target/release/tasktracker-server "$@"
