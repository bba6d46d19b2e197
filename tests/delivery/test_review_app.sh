#!/usr/bin/env bash
# Tests scripts/review-app.sh against a local AWS emulator (moto_server on
# 127.0.0.1 at a free port: ECS, ELBv2, ECR, EC2): deploy creates the target
# groups, host rules, task definitions and services of one merge request;
# a second deploy updates them in place; stop removes every piece.
# terraform, skopeo and cosign are stubbed: the stub terraform prints the
# staging stack's `review` output; image copy and signature checks are the
# deploy jobs' business (scripts/verify-image.sh).
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
  command -v "$tool" >/dev/null || { echo "test_review_app: $tool not found (run scripts/lint.sh)" >&2; exit 1; }
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
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE

# --- the staging plumbing Terraform would have created ---------------------
vpc="$(aws ec2 create-vpc --cidr-block 10.40.0.0/16 --query Vpc.VpcId --output text)"
sub1="$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.40.32.0/20 --availability-zone us-east-1a --query Subnet.SubnetId --output text)"
sub2="$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.40.48.0/20 --availability-zone us-east-1b --query Subnet.SubnetId --output text)"
sg="$(aws ec2 create-security-group --group-name tasks --description tasks --vpc-id "$vpc" --query GroupId --output text)"
alb="$(aws elbv2 create-load-balancer --name tt-staging-api --subnets "$sub1" "$sub2" --query 'LoadBalancers[0].LoadBalancerArn' --output text)"
default_tg="$(aws elbv2 create-target-group --name tt-staging-web --protocol HTTP --port 8080 --vpc-id "$vpc" --target-type ip --query 'TargetGroups[0].TargetGroupArn' --output text)"
listener="$(aws elbv2 create-listener --load-balancer-arn "$alb" --protocol HTTP --port 80 \
  --default-actions "Type=forward,TargetGroupArn=$default_tg" --query 'Listeners[0].ListenerArn' --output text)"
aws ecs create-cluster --cluster-name tasktracker-staging >/dev/null
server_repo="$(aws ecr create-repository --repository-name tasktracker-staging/server --query repository.repositoryUri --output text)"
web_repo="$(aws ecr create-repository --repository-name tasktracker-staging/review-web --query repository.repositoryUri --output text)"

review="$(jq -n --arg listener "$listener" --arg vpc "$vpc" --arg s1 "$sub1" --arg s2 "$sub2" --arg sg "$sg" \
  --arg server "$server_repo" --arg web "$web_repo" '{
    cluster: "tasktracker-staging", listener_arn: $listener, vpc_id: $vpc, subnets: [$s1, $s2],
    security_group: $sg, execution_role_arn: "arn:aws:iam::123456789012:role/review-exec",
    log_group: "/ecs/tasktracker-staging/review-apps", domain: "review.staging.tasktracker.example",
    server_repository_url: $server, web_repository_url: $web,
    token_secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:token-abc"}')"

mkdir -p "$work/bin"
printf '%s\n' "$review" > "$work/review.json"
cat > "$work/bin/terraform" <<STUB
#!/usr/bin/env bash
case "\$*" in *"output -json review"*) cat "$work/review.json" ;; *) : ;; esac
STUB
cat > "$work/bin/skopeo" <<'STUB'
#!/usr/bin/env bash
case "$*" in *--password-stdin*) cat >/dev/null ;; esac
STUB
printf '#!/usr/bin/env bash\nexit 0\n' > "$work/bin/cosign"
chmod +x "$work/bin/"*
export PATH="$work/bin:$PATH"

export CI_MERGE_REQUEST_IID=42 CI_PIPELINE_SOURCE=merge_request_event CI_PROJECT_URL=https://gitlab.example.com/tasktracker/tasktracker
export CI_SERVER_URL=https://gitlab.example.com CI_REGISTRY=registry.gitlab.example.com CI_REGISTRY_USER=ci CI_REGISTRY_PASSWORD=x
export TF_STATE_BUCKET=state SERVER_IMAGE=registry.gitlab.example.com/tasktracker/tasktracker/server WEB_IMAGE=registry.gitlab.example.com/tasktracker/tasktracker/web
SERVER_DIGEST="sha256:$(printf 'a%.0s' {1..64})"
WEB_DIGEST="sha256:$(printf 'b%.0s' {1..64})"
export SERVER_DIGEST WEB_DIGEST
export CI_PIPELINE_ID=100 CI_COMMIT_SHORT_SHA=abc1234 REVIEW_APP_WAIT=0

# review-app.sh writes review.env at the repository root: run it from a copy.
mkdir -p "$work/repo/scripts" && cp "$root/scripts/review-app.sh" "$root/scripts/verify-image.sh" "$work/repo/scripts/"
app="$work/repo/scripts/review-app.sh"

rules_json() { aws elbv2 describe-rules --listener-arn "$listener" --output json; }
rule_for() { rules_json | jq -r --arg h "$1" '.Rules[] | select(any(.Conditions[]?; (.Values // .HostHeaderConfig.Values // []) | index($h))) | "\(.Priority) \(.Actions[0].TargetGroupArn)"'; }
tg_arn() { aws elbv2 describe-target-groups --names "$1" --query 'TargetGroups[0].TargetGroupArn' --output text 2>/dev/null || echo none; }
svc() { aws ecs describe-services --cluster tasktracker-staging --services "$1" --query "services[?status=='ACTIVE'] | [0].$2" --output text; }

# --- deploy -------------------------------------------------------------------
if "$app" deploy >"$work/deploy1.log" 2>&1; then ok "deploy exits 0"; else fail "deploy failed"; cat "$work/deploy1.log"; fi
web_tg="$(tg_arn tt-review-mr-42-web)"; api_tg="$(tg_arn tt-review-mr-42-api)"
if [ "$web_tg" != none ] && [ "$api_tg" != none ]; then ok "target groups created"; else fail "target groups missing"; fi
check_eq "web health check path" "/healthz" "$(aws elbv2 describe-target-groups --names tt-review-mr-42-web --query 'TargetGroups[0].HealthCheckPath' --output text)"
check_eq "web rule: priority and target" "1084 $web_tg" "$(rule_for mr-42.review.staging.tasktracker.example)"
check_eq "api rule: priority and target" "1085 $api_tg" "$(rule_for api-mr-42.review.staging.tasktracker.example)"
check_eq "api service desired count" "1" "$(svc tasktracker-review-mr-42-api desiredCount)"
check_eq "web service behind its target group" "$web_tg" "$(svc tasktracker-review-mr-42-web 'loadBalancers[0].targetGroupArn')"

api_td="$(aws ecs describe-task-definition --task-definition tasktracker-review-mr-42-api --output json)"
check_eq "api task: postgres, migrate, server" "postgres migrate server" "$(jq -r '[.taskDefinition.containerDefinitions[].name] | join(" ")' <<<"$api_td")"
check_eq "server image by digest from ECR" "$server_repo@$SERVER_DIGEST" "$(jq -r '.taskDefinition.containerDefinitions[] | select(.name=="server") | .image' <<<"$api_td")"
check_eq "server starts after migrate succeeded" "migrate:SUCCESS" "$(jq -r '.taskDefinition.containerDefinitions[] | select(.name=="server") | .dependsOn[0] | "\(.containerName):\(.condition)"' <<<"$api_td")"
check_eq "migrate waits for a healthy postgres" "postgres:HEALTHY" "$(jq -r '.taskDefinition.containerDefinitions[] | select(.name=="migrate") | .dependsOn[0] | "\(.containerName):\(.condition)"' <<<"$api_td")"
check_eq "token secret from Secrets Manager" "TASKTRACKER_TOKEN_SECRET" "$(jq -r '.taskDefinition.containerDefinitions[] | select(.name=="server") | .secrets[0].name' <<<"$api_td")"
check_eq "server read-only root, non-root" "true 65532:65532" "$(jq -r '.taskDefinition.containerDefinitions[] | select(.name=="server") | "\(.readonlyRootFilesystem) \(.user)"' <<<"$api_td")"
web_td="$(aws ecs describe-task-definition --task-definition tasktracker-review-mr-42-web --output json)"
check_eq "web points at its own API" "https://api-mr-42.review.staging.tasktracker.example" \
  "$(jq -r '.taskDefinition.containerDefinitions[0].environment[] | select(.name=="API_BASE_URL") | .value' <<<"$web_td")"
check_eq "review.env has the URL" "REVIEW_URL=https://mr-42.review.staging.tasktracker.example" "$(cat "$work/repo/review.env")"

# --- deploy again: updated in place ---------------------------------------------
SERVER_DIGEST="sha256:$(printf 'c%.0s' {1..64})"
export CI_PIPELINE_ID=101 SERVER_DIGEST
if "$app" deploy >"$work/deploy2.log" 2>&1; then ok "second deploy exits 0"; else fail "second deploy failed"; cat "$work/deploy2.log"; fi
check_eq "still two review rules" "2" "$(rules_json | jq '[.Rules[] | select(.IsDefault | not)] | length')"
check_eq "service moved to revision 2" "tasktracker-review-mr-42-api:2" "$(svc tasktracker-review-mr-42-api taskDefinition | sed 's|.*/||')"

# --- stop ---------------------------------------------------------------------------
if "$app" stop >"$work/stop.log" 2>&1; then ok "stop exits 0"; else fail "stop failed"; cat "$work/stop.log"; fi
check_eq "no review rules left" "0" "$(rules_json | jq '[.Rules[] | select(.IsDefault | not)] | length')"
check_eq "target groups removed" "none none" "$(tg_arn tt-review-mr-42-web) $(tg_arn tt-review-mr-42-api)"
check_eq "services gone" "None None" "$(svc tasktracker-review-mr-42-api serviceName) $(svc tasktracker-review-mr-42-web serviceName)"
check_eq "task definitions deregistered" "0" \
  "$(aws ecs list-task-definitions --family-prefix tasktracker-review-mr-42 --status ACTIVE --query 'length(taskDefinitionArns)' --output text)"
check_eq "staging's own target group untouched" "tt-staging-web" "$(aws elbv2 describe-target-groups --target-group-arns "$default_tg" --query 'TargetGroups[0].TargetGroupName' --output text)"
if "$app" stop >"$work/stop2.log" 2>&1; then ok "stop again is a no-op"; else fail "second stop failed"; cat "$work/stop2.log"; fi

echo
echo "test_review_app: $passed passed, $failed failed"
[ "$failed" = 0 ]
