#!/usr/bin/env bash
# Tests scripts/ecs-rollback.sh against a local ECS emulator (moto_server on
# 127.0.0.1 at a free port): it must pick the previous revision of the
# service's own family (never the "-migrate" family sharing its prefix), walk
# back one revision per call, stop at the first, and honour --to.
# --no-wait because the emulator never reports running tasks.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
moto_pid=""
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }

for tool in aws moto_server python3 jq; do
  command -v "$tool" >/dev/null || { echo "test_ecs_rollback: $tool not found (run scripts/lint.sh)" >&2; exit 1; }
done
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log" >&2; exit 1; }
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE

fam=tasktracker-test-server
aws ecs create-cluster --cluster-name tt >/dev/null
for i in 1 2 3; do
  aws ecs register-task-definition --family "$fam" \
    --container-definitions "[{\"name\":\"server\",\"image\":\"repo/server@sha256:$i\",\"memory\":512}]" >/dev/null
done
# Newer revisions of the migrate family must never be chosen.
for i in 1 2 3 4; do
  aws ecs register-task-definition --family "$fam-migrate" \
    --container-definitions '[{"name":"server","image":"repo/server@sha256:m","memory":512}]' >/dev/null
done
aws ecs create-service --cluster tt --service-name server --task-definition "$fam:3" --desired-count 2 >/dev/null

current() { aws ecs describe-services --cluster tt --services server --query 'services[0].taskDefinition' --output text | sed 's|.*/||'; }
rollback() { "$root/scripts/ecs-rollback.sh" --cluster tt --service server --no-wait "$@" >>"$work/out.log" 2>&1; }

if rollback; then check_eq "rolls back 3 -> 2" "$fam:2" "$(current)"; else fail "rollback from 3 failed"; cat "$work/out.log"; fi
if rollback; then check_eq "rolls back 2 -> 1" "$fam:1" "$(current)"; else fail "rollback from 2 failed"; cat "$work/out.log"; fi
if rollback; then fail "rolled back past the first revision"; else ok "refuses to go before revision 1"; fi
check_eq "service untouched by the refusal" "$fam:1" "$(current)"
arn="$(aws ecs describe-task-definition --task-definition "$fam:3" --query taskDefinition.taskDefinitionArn --output text)"
if rollback --to "$arn"; then check_eq "--to a given revision" "$fam:3" "$(current)"; else fail "--to failed"; cat "$work/out.log"; fi
if grep -q "image repo/server@sha256:3" "$work/out.log"; then ok "prints the image it rolls to"; else fail "no image line"; fi

echo
echo "test_ecs_rollback: $passed passed, $failed failed"
[ "$failed" = 0 ]
