#!/usr/bin/env bash
# shellcheck disable=SC2016 # JMESPath literals in --query: backticks inside single quotes on purpose
# A review app per merge request on the staging ECS cluster, behind the
# staging ALB (host-based rules): the web image at https://mr-<iid>.<domain>
# and the API (gRPC-web) at https://api-mr-<iid>.<domain>, with its own
# throwaway PostgreSQL sidecar, migrated on start.
#
#   scripts/review-app.sh deploy   # create or update
#   scripts/review-app.sh stop     # delete everything of this merge request
#
# Inputs: CI_MERGE_REQUEST_IID, TF_STATE_BUCKET (staging), and for deploy
# SERVER_IMAGE/SERVER_DIGEST, WEB_IMAGE/WEB_DIGEST (signed by sign:images).
# REVIEW_APP_WAIT=0 skips waiting for ECS to settle (tests against an emulator).
# Shared plumbing (wildcard certificate and DNS, review ECR repository,
# execution role, log group) is Terraform: infra/modules/review-apps.
set -euo pipefail

action="${1:?usage: review-app.sh deploy|stop}"
iid="${CI_MERGE_REQUEST_IID:?CI_MERGE_REQUEST_IID is required}"
root="$(cd "$(dirname "$0")/.." && pwd)"
wait_ecs="${REVIEW_APP_WAIT:-1}"
: "${TF_STATE_BUCKET:?TF_STATE_BUCKET (staging) is required}"

terraform -chdir="$root/infra/environments/staging" init -input=false \
  -backend-config="bucket=$TF_STATE_BUCKET" >/dev/null
review="$(terraform -chdir="$root/infra/environments/staging" output -json review)"
get() { jq -r ".$1" <<<"$review"; }
cluster="$(get cluster)"
listener="$(get listener_arn)"
domain="$(get domain)"
name="mr-$iid"
web_host="$name.$domain"
api_host="api-$name.$domain"
prefix="tasktracker-review-$name"
tg_web="tt-review-$name-web"
tg_api="tt-review-$name-api"
priority_web=$((1000 + 2 * (iid % 20000)))
priority_api=$((priority_web + 1))

tg_arn() { aws elbv2 describe-target-groups --names "$1" --query 'TargetGroups[0].TargetGroupArn' --output text 2>/dev/null || true; }
rule_arn() {
  aws elbv2 describe-rules --listener-arn "$listener" --output json \
    | jq -r --arg host "$1" '.Rules[] | select(any(.Conditions[]?; .Field == "host-header" and (.Values // .HostHeaderConfig.Values | index($host)))) | .RuleArn' | head -n1
}

stop() {
  for svc in web api; do
    if aws ecs describe-services --cluster "$cluster" --services "$prefix-$svc" \
        --query 'services[?status==`ACTIVE`].serviceName' --output text | grep -q .; then
      aws ecs delete-service --cluster "$cluster" --service "$prefix-$svc" --force >/dev/null
      echo "review-app: deleting service $prefix-$svc"
    fi
  done
  for host in "$web_host" "$api_host"; do
    arn="$(rule_arn "$host")"
    [ -n "$arn" ] && aws elbv2 delete-rule --rule-arn "$arn" && echo "review-app: removed rule for $host"
  done
  if [ "$wait_ecs" = 1 ]; then
    aws ecs wait services-inactive --cluster "$cluster" --services "$prefix-web" "$prefix-api" 2>/dev/null || true
  fi
  for tg in "$tg_web" "$tg_api"; do
    arn="$(tg_arn "$tg")"
    if [ -n "$arn" ] && [ "$arn" != None ]; then aws elbv2 delete-target-group --target-group-arn "$arn"; echo "review-app: removed $tg"; fi
  done
  for fam in "$prefix-web" "$prefix-api"; do
    for td in $(aws ecs list-task-definitions --family-prefix "$fam" --status ACTIVE --query 'taskDefinitionArns[]' --output text); do
      aws ecs deregister-task-definition --task-definition "$td" >/dev/null
    done
  done
  echo "review-app: $name stopped"
}

ensure_tg() { # ensure_tg <name> <health path> <matcher>
  local arn
  arn="$(tg_arn "$1")"
  if [ -z "$arn" ] || [ "$arn" = None ]; then
    arn="$(aws elbv2 create-target-group --name "$1" --protocol HTTP --protocol-version HTTP1 --port 8080 \
      --target-type ip --vpc-id "$(get vpc_id)" --health-check-path "$2" --matcher "HttpCode=$3" \
      --health-check-interval-seconds 10 --healthy-threshold-count 2 \
      --tags Key=Environment,Value=review Key=MergeRequest,Value="$iid" \
      --query 'TargetGroups[0].TargetGroupArn' --output text)"
    aws elbv2 modify-target-group-attributes --target-group-arn "$arn" \
      --attributes Key=deregistration_delay.timeout_seconds,Value=5 >/dev/null
  fi
  echo "$arn"
}

ensure_rule() { # ensure_rule <host> <priority> <target group arn>
  local arn
  arn="$(rule_arn "$1")"
  if [ -z "$arn" ]; then
    aws elbv2 create-rule --listener-arn "$listener" --priority "$2" \
      --conditions "Field=host-header,Values=$1" \
      --actions "Type=forward,TargetGroupArn=$3" >/dev/null
  fi
}

ensure_service() { # ensure_service <name> <task definition arn> <target group arn> <container>
  local network
  network="$(jq -c '{awsvpcConfiguration: {subnets: .subnets, securityGroups: [.security_group], assignPublicIp: "DISABLED"}}' <<<"$review")"
  if aws ecs describe-services --cluster "$cluster" --services "$1" \
      --query 'services[?status==`ACTIVE`].serviceName' --output text | grep -q .; then
    aws ecs update-service --cluster "$cluster" --service "$1" --task-definition "$2" >/dev/null
  else
    aws ecs create-service --cluster "$cluster" --service-name "$1" --task-definition "$2" \
      --desired-count 1 --launch-type FARGATE --network-configuration "$network" \
      --load-balancers "targetGroupArn=$3,containerName=$4,containerPort=8080" \
      --health-check-grace-period-seconds 120 \
      --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=false},minimumHealthyPercent=0,maximumPercent=100' \
      --tags key=Environment,value=review key=MergeRequest,value="$iid" >/dev/null
  fi
}

deploy() {
  : "${SERVER_IMAGE:?}" "${SERVER_DIGEST:?}" "${WEB_IMAGE:?}" "${WEB_DIGEST:?}"
  "$root/scripts/verify-image.sh" "$SERVER_IMAGE@$SERVER_DIGEST"
  "$root/scripts/verify-image.sh" "$WEB_IMAGE@$WEB_DIGEST"

  local server_repo web_repo tag
  server_repo="$(get server_repository_url)"
  web_repo="$(get web_repository_url)"
  tag="p${CI_PIPELINE_ID:-manual}-${CI_COMMIT_SHORT_SHA:-review}"
  aws ecr get-login-password | skopeo login --username AWS --password-stdin "${server_repo%%/*}"
  skopeo login --username "$CI_REGISTRY_USER" --password "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"
  skopeo copy --all --preserve-digests "docker://$SERVER_IMAGE@$SERVER_DIGEST" "docker://$server_repo:$tag" \
    || aws ecr describe-images --repository-name "${server_repo#*/}" --image-ids "imageDigest=$SERVER_DIGEST" >/dev/null
  skopeo copy --all --preserve-digests "docker://$WEB_IMAGE@$WEB_DIGEST" "docker://$web_repo:$tag" \
    || aws ecr describe-images --repository-name "${web_repo#*/}" --image-ids "imageDigest=$WEB_DIGEST" >/dev/null

  local logs region exec_role
  logs="$(get log_group)"
  region="${AWS_REGION:-$(aws configure get region)}"
  exec_role="$(get execution_role_arn)"
  log_opts() { jq -n --arg g "$logs" --arg r "$region" --arg p "$1" \
    '{logDriver: "awslogs", options: {"awslogs-group": $g, "awslogs-region": $r, "awslogs-stream-prefix": $p}}'; }

  local api_td web_td
  api_td="$(jq -n \
    --arg family "$prefix-api" --arg exec "$exec_role" \
    --arg server "$server_repo@$SERVER_DIGEST" --arg secret "$(get token_secret_arn)" \
    --arg cors "https://$web_host" --argjson logs "$(log_opts "$name-api")" '{
      family: $family, networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"],
      cpu: "512", memory: "1024", executionRoleArn: $exec,
      volumes: [{name: "tmp"}, {name: "pgdata"}],
      containerDefinitions: [
        {name: "postgres", image: "public.ecr.aws/docker/library/postgres:17.6", essential: true,
         environment: [{name: "POSTGRES_HOST_AUTH_METHOD", value: "trust"}, {name: "POSTGRES_DB", value: "tasktracker"},
                       {name: "PGDATA", value: "/var/lib/postgresql/data/pgdata"}],
         mountPoints: [{sourceVolume: "pgdata", containerPath: "/var/lib/postgresql/data"}],
         healthCheck: {command: ["CMD-SHELL", "pg_isready -U postgres -d tasktracker"], interval: 5, timeout: 3, retries: 10, startPeriod: 10},
         logConfiguration: $logs},
        {name: "migrate", image: $server, essential: false, command: ["migrate"], user: "65532:65532",
         readonlyRootFilesystem: true,
         mountPoints: [{sourceVolume: "tmp", containerPath: "/tmp"}],
         environment: [{name: "DATABASE_URL", value: "postgres://postgres@127.0.0.1:5432/tasktracker"},
                       {name: "TASKTRACKER_DATA_DIR", value: "/tmp/tasktracker-data"}],
         secrets: [{name: "TASKTRACKER_TOKEN_SECRET", valueFrom: $secret}],
         dependsOn: [{containerName: "postgres", condition: "HEALTHY"}], logConfiguration: $logs},
        {name: "server", image: $server, essential: true, command: ["serve"], user: "65532:65532",
         readonlyRootFilesystem: true,
         portMappings: [{containerPort: 8080, protocol: "tcp"}],
         mountPoints: [{sourceVolume: "tmp", containerPath: "/tmp"}],
         environment: [{name: "DATABASE_URL", value: "postgres://postgres@127.0.0.1:5432/tasktracker"},
                       {name: "TASKTRACKER_LISTEN_ADDR", value: "0.0.0.0:8080"},
                       {name: "TASKTRACKER_CORS_ORIGINS", value: $cors},
                       {name: "TASKTRACKER_AUTO_MIGRATE", value: "false"},
                       {name: "TASKTRACKER_DATA_DIR", value: "/tmp/tasktracker-data"},
                       {name: "TASKTRACKER_LOG_FORMAT", value: "json"}, {name: "RUST_LOG", value: "info"}],
         secrets: [{name: "TASKTRACKER_TOKEN_SECRET", valueFrom: $secret}],
         healthCheck: {command: ["CMD", "/usr/local/bin/tasktracker-server", "healthcheck"], interval: 10, timeout: 5, retries: 3, startPeriod: 15},
         dependsOn: [{containerName: "migrate", condition: "SUCCESS"}], logConfiguration: $logs}
      ]}')"
  web_td="$(jq -n \
    --arg family "$prefix-web" --arg exec "$exec_role" --arg web "$web_repo@$WEB_DIGEST" \
    --arg api "https://$api_host" --argjson logs "$(log_opts "$name-web")" '{
      family: $family, networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"],
      cpu: "256", memory: "512", executionRoleArn: $exec, volumes: [{name: "tmp"}],
      containerDefinitions: [
        {name: "web", image: $web, essential: true, user: "101:101", readonlyRootFilesystem: true,
         portMappings: [{containerPort: 8080, protocol: "tcp"}],
         mountPoints: [{sourceVolume: "tmp", containerPath: "/tmp"}],
         environment: [{name: "API_BASE_URL", value: $api}],
         logConfiguration: $logs}
      ]}')"
  local api_arn web_arn
  api_arn="$(aws ecs register-task-definition --cli-input-json "$api_td" --query taskDefinition.taskDefinitionArn --output text)"
  web_arn="$(aws ecs register-task-definition --cli-input-json "$web_td" --query taskDefinition.taskDefinitionArn --output text)"

  local tg_web_arn tg_api_arn
  tg_web_arn="$(ensure_tg "$tg_web" /healthz 200)"
  tg_api_arn="$(ensure_tg "$tg_api" /grpc.health.v1.Health/Check 200-499)"
  ensure_rule "$web_host" "$priority_web" "$tg_web_arn"
  ensure_rule "$api_host" "$priority_api" "$tg_api_arn"
  ensure_service "$prefix-api" "$api_arn" "$tg_api_arn" server
  ensure_service "$prefix-web" "$web_arn" "$tg_web_arn" web
  if [ "$wait_ecs" = 1 ]; then
    aws ecs wait services-stable --cluster "$cluster" --services "$prefix-api" "$prefix-web"
  fi

  echo "REVIEW_URL=https://$web_host" > "$root/review.env"
  echo "review-app: https://$web_host (API https://$api_host)"
}

case "$action" in
  deploy) deploy ;;
  stop) stop ;;
  *) echo "review-app: unknown action $action" >&2; exit 2 ;;
esac
