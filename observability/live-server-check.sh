#!/usr/bin/env bash
# The real-Prometheus check against the real server: starts tasktracker-server
# (embedded SQLite), sends traffic with successes and failures while a real
# Prometheus with our rules scrapes its /metrics, then evaluates every
# dashboard and rule expression (observability/live_check.py). Fails if any
# expression errors, any rule is unhealthy or a RED panel has no data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_grpcurl
command -v prometheus >/dev/null || apt_install --no-install-recommends prometheus

# TASKTRACKER_SERVER_BIN (test.sh passes the one its test build made), else built here.
server_bin="${TASKTRACKER_SERVER_BIN:-}"
if [ -z "$server_bin" ]; then
  cargo build --locked --quiet -p tasktracker-server
  server_bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/tasktracker-server"
fi
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
address="127.0.0.1:$(free_port)"
metrics="127.0.0.1:$(free_port)"
server_pid=""
traffic_pid=""
cleanup() {
  [ -n "$traffic_pid" ] && kill "$traffic_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && exec env -u DATABASE_URL TASKTRACKER_LISTEN_ADDR="$address" TASKTRACKER_METRICS_ADDR="$metrics" \
  "$server_bin" >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  grpcurl -plaintext "$address" list >/dev/null 2>&1 && break
  sleep 0.1
done

call() { grpcurl -plaintext -max-time 5 "$@" >/dev/null 2>&1 || true; }
token=$(grpcurl -plaintext -d '{"email": "load@example.com", "password": "correct horse battery", "display_name": "Load"}' \
  "$address" tasktracker.v1.AccountService/SignUp | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["accessToken"])')
auth="authorization: Bearer $token"
project=$(grpcurl -plaintext -H "$auth" -d '{"project": {"title": "Load"}}' "$address" tasktracker.v1.ProjectService/CreateProject \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')

# Traffic for at most 60 s: creates, lists, a validation failure, an
# unauthenticated call and a failed sign-in per round.
(
  end=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$end" ]; do
    call -H "$auth" -d "{\"parent\": \"$project\", \"task\": {\"title\": \"load\"}}" "$address" tasktracker.v1.TaskService/CreateTask
    call -H "$auth" -d "{\"parent\": \"$project\", \"filter\": \"status = TODO\"}" "$address" tasktracker.v1.TaskService/ListTasks
    call -H "$auth" -d "{\"parent\": \"$project\", \"task\": {\"title\": \"\"}}" "$address" tasktracker.v1.TaskService/CreateTask
    call -d "{\"parent\": \"$project\"}" "$address" tasktracker.v1.TaskService/ListTasks
    call -d '{"email": "load@example.com", "password": "wrong password"}' "$address" tasktracker.v1.AccountService/SignIn
    sleep 0.2
  done
) &
traffic_pid=$!

python3 observability/live_check.py --target "$metrics" --wait 30
