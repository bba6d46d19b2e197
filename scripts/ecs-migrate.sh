#!/usr/bin/env bash
# Run `tasktracker-server migrate` for a new image as a one-off Fargate task,
# before the service rolls: migrations are expand/contract (additive first), so
# the running release keeps working on the migrated schema and a rollback to it
# stays safe (docs/runbooks/rollback.md).
#
#   scripts/ecs-migrate.sh --cluster C --family F --image IMAGE@DIGEST --network-configuration JSON
#
# Copies the service's current task definition (same roles, secrets, logs),
# swaps the image and the command, registers it as family "<F>-migrate", runs
# it and fails unless the container exits 0.
set -euo pipefail

cluster="" family="" image="" network=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) cluster="$2"; shift 2 ;;
    --family) family="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --network-configuration) network="$2"; shift 2 ;;
    *) echo "ecs-migrate: unknown argument $1" >&2; exit 2 ;;
  esac
done
for v in cluster family image network; do
  [ -n "${!v}" ] || { echo "ecs-migrate: --${v//_/-} is required" >&2; exit 2; }
done

current="$(aws ecs describe-task-definition --task-definition "$family" --query taskDefinition --output json)"
migrate="$(jq --arg image "$image" '{
    family: (.family + "-migrate"),
    taskRoleArn, executionRoleArn, networkMode, requiresCompatibilities, cpu, memory,
    runtimePlatform, volumes,
    containerDefinitions: [ .containerDefinitions[]
      | select(.name == "server")
      | .image = $image | .command = ["migrate"] | .portMappings = [] | del(.healthCheck) ]
  }' <<<"$current")"
arn="$(aws ecs register-task-definition --cli-input-json "$migrate" \
  --query taskDefinition.taskDefinitionArn --output text)"
echo "ecs-migrate: registered $arn"

task="$(aws ecs run-task --cluster "$cluster" --task-definition "$arn" --launch-type FARGATE \
  --network-configuration "$network" --started-by "migrate-${CI_PIPELINE_ID:-manual}" \
  --query 'tasks[0].taskArn' --output text)"
echo "ecs-migrate: started $task"

# The waiter gives up after 10 minutes; migrations that need longer are a
# change to plan, not to wait for.
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
result="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --output json)"
code="$(jq -r '.tasks[0].containers[] | select(.name == "server") | .exitCode // "none"' <<<"$result")"
reason="$(jq -r '.tasks[0].stoppedReason // ""' <<<"$result")"
if [ "$code" != 0 ]; then
  echo "ecs-migrate: migrate exited with $code ($reason); logs: the server log group, stream prefix server/" >&2
  exit 1
fi
echo "ecs-migrate: migrations applied"
